import Kernels

/// The activations of one forward pass, carved out of one reusable arena (llm.c's
/// `ActivationTensors`). The arena grows to the largest batch seen and is reused afterwards.
///
/// With `keepAllLayers` every layer has its own slot (training: backward reads them all). Without
/// it, all layers share slot 0 (inference): a layer reads its input, the previous layer's
/// `outputNorm`, only before it writes its own `outputNorm`, so one slot suffices.
/// Dropout masks exist only when a training pass uses dropout.
public final class EncoderActivations: @unchecked Sendable {
    /// Tensors of one layer (B batch, T tokens incl. virtual ones, C hidden, NH heads, FF intermediate).
    public struct Layer {
        public var qkv: UnsafeMutablePointer<Float>                // (B, T, 3C)
        public var probs: UnsafeMutablePointer<Float>              // (B, NH, T, T) before dropout
        public var context: UnsafeMutablePointer<Float>            // (B, T, C) attention output before its dense layer
        public var attentionResidual: UnsafeMutablePointer<Float>  // (B, T, C) input + dropout(dense(context))
        public var attentionNorm: UnsafeMutablePointer<Float>      // (B, T, C)
        public var attentionMean: UnsafeMutablePointer<Float>      // (B, T)
        public var attentionRstd: UnsafeMutablePointer<Float>      // (B, T)
        public var intermediate: UnsafeMutablePointer<Float>       // (B, T, FF) before GELU
        /// (B, T, FF) GELU output. Shared by all layers: each layer's is consumed at once by the
        /// output dense layer, and backward recomputes it from `intermediate` (saves L·B·T·FF floats).
        public var gelu: UnsafeMutablePointer<Float>
        public var outputResidual: UnsafeMutablePointer<Float>     // (B, T, C) attentionNorm + dropout(dense(gelu))
        public var outputNorm: UnsafeMutablePointer<Float>         // (B, T, C) the layer's output
        public var outputMean: UnsafeMutablePointer<Float>         // (B, T)
        public var outputRstd: UnsafeMutablePointer<Float>         // (B, T)
        public var probsDropout: UnsafeMutablePointer<UInt8>?      // (B, NH, T, T) 1 keep / 0 drop
        public var attentionOutputDropout: UnsafeMutablePointer<UInt8>? // (B, T, C)
        public var outputDropout: UnsafeMutablePointer<UInt8>?     // (B, T, C)
    }

    public let config: BertConfig
    public private(set) var batchSize = 0
    /// T: the padded length including any virtual prompt tokens.
    public private(set) var tokens = 0
    /// P: virtual tokens at the front of every row.
    public private(set) var promptLength = 0
    public private(set) var keepsAllLayers = false
    public private(set) var hasDropout = false

    public private(set) var embeddingSum: UnsafeMutablePointer<Float>   // (B, T, C)
    public private(set) var embeddingNorm: UnsafeMutablePointer<Float>  // (B, T, C) input of layer 0 (after dropout)
    public private(set) var embeddingMean: UnsafeMutablePointer<Float>  // (B, T)
    public private(set) var embeddingRstd: UnsafeMutablePointer<Float>  // (B, T)
    public private(set) var embeddingDropout: UnsafeMutablePointer<UInt8>? // (B, T, C)
    /// 1/(1 − p) of the hidden and attention dropout of the last training forward.
    public var hiddenDropoutScale: Float = 1
    public var attentionDropoutScale: Float = 1
    /// (threads, 2, T, T) per-worker blocks for attention with dropout and its backward.
    public private(set) var attentionScratch: UnsafeMutablePointer<Float>
    public private(set) var layers: [Layer] = []
    /// (B, T) token ids and (B) lengths (virtual tokens included), for kernels that read raw pointers.
    public private(set) var ids: UnsafeMutablePointer<Int32>
    public private(set) var lengths: UnsafeMutablePointer<Int32>

    private var arena: FloatBuffer
    private var maskArena = MaskBuffer(count: 0)
    private var idArena: UnsafeMutablePointer<Int32>
    private var idCapacity = 0

    public init(config: BertConfig) {
        self.config = config
        arena = FloatBuffer(count: 0)
        idArena = .allocate(capacity: 1)
        embeddingSum = arena.pointer; embeddingNorm = arena.pointer
        embeddingMean = arena.pointer; embeddingRstd = arena.pointer
        attentionScratch = arena.pointer
        ids = idArena; lengths = idArena
    }

    deinit { idArena.deallocate() }

    /// Floats one batch of this shape needs; nil (overflow) is refused at the input boundary
    /// (`MemoryBudget.encoderBytes`) before any batch is prepared.
    public static func checkedFloatCount(config: BertConfig, batch B: Int, tokens T: Int, keepAllLayers: Bool, dropout: Bool) -> CheckedCount {
        let C = config.hiddenSize, NH = config.numAttentionHeads, FF = config.intermediateSize
        let BT = CheckedCount.product(B, T), TT = CheckedCount.product(T, T)
        let perLayer = BT * 3 * C + CheckedCount.product(B, NH) * TT + BT * 5 * C + BT * FF + BT * 4
        let slots = keepAllLayers ? config.numHiddenLayers : 1
        return BT * 2 * C + BT * 2 + TT * 2 * Parallel.threadCount + BT * FF + perLayer * slots
    }

    /// Dropout-mask bytes one batch of this shape needs (training with dropout only).
    static func checkedMaskCount(config: BertConfig, batch B: Int, tokens T: Int, slots: Int) -> CheckedCount {
        let BT = CheckedCount.product(B, T), C = config.hiddenSize
        return BT * C + (CheckedCount.product(B, config.numAttentionHeads, T, T) + BT * 2 * C) * slots
    }

    /// Points every tensor at its place for a (B, P + T) batch, growing the arena if needed, and
    /// copies the batch's ids (shifted right by P) and lengths (+ P) in.
    public func prepare(for batch: TokenBatch, promptLength P: Int, keepAllLayers: Bool, dropout: Bool) {
        let B = batch.batchSize, T = batch.tokens + P
        let masks = dropout ? Self.checkedMaskCount(config: config, batch: B, tokens: T, slots: keepAllLayers ? config.numHiddenLayers : 1) : 0
        guard let needed = Self.checkedFloatCount(config: config, batch: B, tokens: T, keepAllLayers: keepAllLayers, dropout: dropout).value,
              let masksNeeded = masks.value
        else { preconditionFailure("batch (\(B), \(T)) overflows: sizes are checked by MemoryBudget at the input boundary") }
        if needed > arena.count { arena = FloatBuffer(count: needed, zeroed: false) }
        if masksNeeded > maskArena.count { maskArena = MaskBuffer(count: masksNeeded) }
        if B * T + B > idCapacity {
            idArena.deallocate()
            idCapacity = B * T + B
            idArena = .allocate(capacity: idCapacity)
        }
        batchSize = B; tokens = T; promptLength = P
        keepsAllLayers = keepAllLayers; hasDropout = dropout
        ids = idArena
        lengths = idArena + B * T
        for b in 0..<B {
            (ids + b * T).update(repeating: 0, count: P)
            batch.ids.withUnsafeBufferPointer { (ids + b * T + P).update(from: $0.baseAddress! + b * batch.tokens, count: batch.tokens) }
            lengths[b] = batch.lengths[b] + Int32(P)
        }

        let C = config.hiddenSize, NH = config.numAttentionHeads, FF = config.intermediateSize
        let BT = B * T
        var next = arena.pointer
        func take(_ count: Int) -> UnsafeMutablePointer<Float> { defer { next += count }; return next }
        var nextMask = maskArena.pointer
        func takeMask(_ count: Int) -> UnsafeMutablePointer<UInt8>? {
            guard dropout else { return nil }
            defer { nextMask += count }
            return nextMask
        }
        embeddingSum = take(BT * C)
        embeddingNorm = take(BT * C)
        embeddingMean = take(BT)
        embeddingRstd = take(BT)
        embeddingDropout = takeMask(BT * C)
        attentionScratch = take(Parallel.threadCount * 2 * T * T)
        let gelu = take(BT * FF)
        let slots = keepAllLayers ? config.numHiddenLayers : 1
        layers = (0..<slots).map { _ in
            Layer(qkv: take(BT * 3 * C), probs: take(B * NH * T * T), context: take(BT * C),
                  attentionResidual: take(BT * C), attentionNorm: take(BT * C),
                  attentionMean: take(BT), attentionRstd: take(BT),
                  intermediate: take(BT * FF), gelu: gelu,
                  outputResidual: take(BT * C), outputNorm: take(BT * C),
                  outputMean: take(BT), outputRstd: take(BT),
                  probsDropout: takeMask(B * NH * T * T),
                  attentionOutputDropout: takeMask(BT * C),
                  outputDropout: takeMask(BT * C))
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
