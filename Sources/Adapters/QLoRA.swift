import Kernels
import Model

/// QLoRA (Dettmers et al. 2023, https://arxiv.org/abs/2305.14314): LoRA whose frozen base linear
/// weights are stored as 4-bit NF4 (blocks of 64, one absmax each, optionally double-quantised)
/// and dequantised inside the shared kernel just before each use, in the forward and again in the
/// backward pass. Embeddings, biases and LayerNorms stay in fp32, as bitsandbytes leaves them.
public final class QLoRAAdapter: LoRAAdapter, @unchecked Sendable {
    public let doubleQuantize: Bool
    /// NF4 copies of every linear weight, indexed [tensor][layer][piece]. The fused query/key/value
    /// weight is three pieces, quantised separately as bitsandbytes quantises three nn.Linear
    /// modules (with double quantisation, each piece has its own absmax offset), so a Hugging Face
    /// user loading the base in 4-bit gets exactly the weights evalharness trained on.
    private let quantized: [EncoderParameterLayout.Tensor: [[NF4Tensor]]]
    /// One weight's worth of dequantised floats; sized for the largest linear weight.
    private let dequantized: FloatBuffer

    public init(configuration: LoRAConfiguration, base: EncoderParameters, doubleQuantize: Bool, seed: UInt64) {
        self.doubleQuantize = doubleQuantize
        var quantized: [EncoderParameterLayout.Tensor: [[NF4Tensor]]] = [:]
        var largest = 0
        for tensor in EncoderParameterLayout.Tensor.allCases where tensor.isLinearWeight {
            let count = base.layout.count(of: tensor)
            let pieces = tensor == .qkvWeight ? 3 : 1
            largest = max(largest, count)
            quantized[tensor] = (0..<base.config.numHiddenLayers).map { layer in
                (0..<pieces).map { piece in
                    NF4Tensor.quantize(base.pointer(tensor, layer: layer) + piece * count / pieces, count: count / pieces,
                                       blockSize: 64, doubleQuantize: doubleQuantize)
                }
            }
        }
        self.quantized = quantized
        dequantized = FloatBuffer(count: largest, zeroed: false)
        super.init(configuration: configuration, config: base.config, seed: seed)
    }

    /// Dequantises the NF4 weight into the shared scratch buffer. The encoder uses the returned
    /// weight in one matmul before asking for the next, so one buffer serves every layer.
    public override func linearWeight(_ tensor: EncoderParameterLayout.Tensor, layer: Int, base: UnsafePointer<Float>) -> UnsafePointer<Float> {
        guard let weights = quantized[tensor] else { return base }
        var offset = 0
        for piece in weights[layer] {
            piece.dequantize(into: dequantized.pointer + offset)
            offset += piece.count
        }
        return UnsafePointer(dequantized.pointer)
    }

    /// Bytes of the 4-bit base linear weights (codes, absmax and double-quantisation state).
    public var quantizedBaseBytes: Int { pieces.reduce(0) { $0 + $1.byteCount } }
    /// Bytes the same weights take in fp32.
    public var fullPrecisionBaseBytes: Int { pieces.reduce(0) { $0 + $1.count * 4 } }

    private var pieces: [NF4Tensor] { quantized.values.flatMap { $0.flatMap { $0 } } }
}
