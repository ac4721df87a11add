import Kernels

/// The activations of one forward pass, carved out of one reusable arena (llm.c's
/// `ActivationTensors`). The arena grows to the largest batch seen and is reused afterwards.
///
/// With `keepAllLayers` every layer has its own slot (training: backward reads them all). Without
/// it, all layers share slot 0 (inference): a layer reads its input, the previous layer's
/// `outputNorm`, only before it writes its own `outputNorm`, so one slot suffices.
public final class EncoderActivations: @unchecked Sendable {
    /// Tensors of one layer (B batch, T tokens, C hidden, NH heads, FF intermediate).
    public struct Layer {
        public var qkv: UnsafeMutablePointer<Float>                // (B, T, 3C)
        public var probs: UnsafeMutablePointer<Float>              // (B, NH, T, T)
        public var context: UnsafeMutablePointer<Float>            // (B, T, C) attention output before its dense layer
        public var attentionResidual: UnsafeMutablePointer<Float>  // (B, T, C) input + dense(context)
        public var attentionNorm: UnsafeMutablePointer<Float>      // (B, T, C)
        public var attentionMean: UnsafeMutablePointer<Float>      // (B, T)
        public var attentionRstd: UnsafeMutablePointer<Float>      // (B, T)
        public var intermediate: UnsafeMutablePointer<Float>       // (B, T, FF) before GELU
        public var gelu: UnsafeMutablePointer<Float>               // (B, T, FF)
        public var outputResidual: UnsafeMutablePointer<Float>     // (B, T, C) attentionNorm + dense(gelu)
        public var outputNorm: UnsafeMutablePointer<Float>         // (B, T, C) the layer's output
        public var outputMean: UnsafeMutablePointer<Float>         // (B, T)
        public var outputRstd: UnsafeMutablePointer<Float>         // (B, T)
    }

    public let config: BertConfig
    public private(set) var batchSize = 0
    public private(set) var tokens = 0
    public private(set) var keepsAllLayers = false

    public private(set) var embeddingSum: UnsafeMutablePointer<Float>   // (B, T, C)
    public private(set) var embeddingNorm: UnsafeMutablePointer<Float>  // (B, T, C) input of layer 0
    public private(set) var embeddingMean: UnsafeMutablePointer<Float>  // (B, T)
    public private(set) var embeddingRstd: UnsafeMutablePointer<Float>  // (B, T)
    public private(set) var layers: [Layer] = []
    /// (B, T) token ids and (B) lengths of the current batch, for kernels that read raw pointers.
    public private(set) var ids: UnsafeMutablePointer<Int32>
    public private(set) var lengths: UnsafeMutablePointer<Int32>

    private var arena: FloatBuffer
    private var idArena: UnsafeMutablePointer<Int32>
    private var idCapacity = 0

    public init(config: BertConfig) {
        self.config = config
        arena = FloatBuffer(count: 0)
        idArena = .allocate(capacity: 1)
        embeddingSum = arena.pointer; embeddingNorm = arena.pointer
        embeddingMean = arena.pointer; embeddingRstd = arena.pointer
        ids = idArena; lengths = idArena
    }

    deinit { idArena.deallocate() }

    /// Floats one batch of this shape needs.
    public static func floatCount(config: BertConfig, batch B: Int, tokens T: Int, keepAllLayers: Bool) -> Int {
        let C = config.hiddenSize, NH = config.numAttentionHeads, FF = config.intermediateSize
        let BT = B * T
        let perLayer = BT * 3 * C + B * NH * T * T + 5 * BT * C + 2 * BT * FF + 4 * BT
        let slots = keepAllLayers ? config.numHiddenLayers : 1
        return 2 * BT * C + 2 * BT + slots * perLayer
    }

    /// Points every tensor at its place for a (B, T) batch, growing the arena if needed, and
    /// copies the batch's ids and lengths in.
    public func prepare(for batch: TokenBatch, keepAllLayers: Bool) {
        let B = batch.batchSize, T = batch.tokens
        let needed = Self.floatCount(config: config, batch: B, tokens: T, keepAllLayers: keepAllLayers)
        if needed > arena.count { arena = FloatBuffer(count: needed, zeroed: false) }
        if B * T + B > idCapacity {
            idArena.deallocate()
            idCapacity = B * T + B
            idArena = .allocate(capacity: idCapacity)
        }
        batchSize = B; tokens = T; keepsAllLayers = keepAllLayers
        ids = idArena
        lengths = idArena + B * T
        batch.ids.withUnsafeBufferPointer { ids.update(from: $0.baseAddress!, count: B * T) }
        batch.lengths.withUnsafeBufferPointer { lengths.update(from: $0.baseAddress!, count: B) }

        let C = config.hiddenSize, NH = config.numAttentionHeads, FF = config.intermediateSize
        let BT = B * T
        var next = arena.pointer
        func take(_ count: Int) -> UnsafeMutablePointer<Float> { defer { next += count }; return next }
        embeddingSum = take(BT * C)
        embeddingNorm = take(BT * C)
        embeddingMean = take(BT)
        embeddingRstd = take(BT)
        let slots = keepAllLayers ? config.numHiddenLayers : 1
        layers = (0..<slots).map { _ in
            Layer(qkv: take(BT * 3 * C), probs: take(B * NH * T * T), context: take(BT * C),
                  attentionResidual: take(BT * C), attentionNorm: take(BT * C),
                  attentionMean: take(BT), attentionRstd: take(BT),
                  intermediate: take(BT * FF), gelu: take(BT * FF),
                  outputResidual: take(BT * C), outputNorm: take(BT * C),
                  outputMean: take(BT), outputRstd: take(BT))
        }
    }

    /// Activations of layer `l` (slot 0 for every layer when layers share one slot).
    @inline(__always)
    public func layer(_ l: Int) -> Layer { layers[keepsAllLayers ? l : 0] }

    /// Input of layer `l`: the embeddings for layer 0, else the previous layer's output.
    public func layerInput(_ l: Int) -> UnsafeMutablePointer<Float> {
        l == 0 ? embeddingNorm : layer(l - 1).outputNorm
    }

    /// The encoder's last hidden state (B, T, C).
    public var lastHiddenState: UnsafeMutablePointer<Float> { layers[layers.count - 1].outputNorm }
}
