import Kernels

/// The encoder's parameters as one flat block of floats, carved up by a table (as llm.c's
/// `ParameterTensors`): gradients and optimizer state use the same layout, so zeroing all
/// gradients is one memset and AdamW is one loop.
///
/// Per-layer tensors are stored for all layers together, `[L, ...]`. Query, key and value are
/// fused into one `[3C, C]` weight (rows: query, then key, then value) so the projection is one sgemm.
public struct EncoderParameterLayout: Sendable, Equatable {
    public enum Tensor: Int, CaseIterable, Sendable {
        case wordEmbeddings         // (V, C)
        case positionEmbeddings     // (maxPositions, C)
        case tokenTypeEmbeddings    // (types, C)
        case embeddingNormWeight    // (C)
        case embeddingNormBias      // (C)
        case qkvWeight              // (L, 3C, C)
        case qkvBias                // (L, 3C)
        case attentionOutputWeight  // (L, C, C)
        case attentionOutputBias    // (L, C)
        case attentionNormWeight    // (L, C)
        case attentionNormBias      // (L, C)
        case intermediateWeight     // (L, FF, C)
        case intermediateBias       // (L, FF)
        case outputWeight           // (L, C, FF)
        case outputBias             // (L, C)
        case outputNormWeight       // (L, C)
        case outputNormBias         // (L, C)

        public var isPerLayer: Bool { rawValue >= Tensor.qkvWeight.rawValue }
        /// Weights of linear layers, the tensors LoRA and NF4 quantisation apply to.
        public var isLinearWeight: Bool {
            [.qkvWeight, .attentionOutputWeight, .intermediateWeight, .outputWeight].contains(self)
        }
        /// A linear weight's bias.
        var bias: Tensor {
            switch self {
            case .qkvWeight: return .qkvBias
            case .attentionOutputWeight: return .attentionOutputBias
            case .intermediateWeight: return .intermediateBias
            case .outputWeight: return .outputBias
            default: preconditionFailure("\(self) is not a linear weight")
            }
        }
    }

    public let config: BertConfig
    /// Offsets of each tensor (for per-layer tensors: of layer 0) into the flat block.
    private let offsets: [Int]
    /// Element count of each tensor (for per-layer tensors: of one layer).
    private let counts: [Int]
    /// Total number of floats.
    public let totalCount: Int

    /// Requires a config whose parameter count fits in an `Int` (`BertConfig.validate` checks it).
    public init(config: BertConfig) {
        self.config = config
        var offsets: [Int] = [], counts: [Int] = []
        var next = CheckedCount(0)
        for tensor in Tensor.allCases {
            let count = CheckedCount.product(Self.shape(of: tensor, config: config))
            guard let begin = next.value, let elements = count.value else { break }
            offsets.append(begin)
            counts.append(elements)
            next = next + count * (tensor.isPerLayer ? config.numHiddenLayers : 1)
        }
        guard let total = next.value, offsets.count == Tensor.allCases.count else {
            preconditionFailure("the parameter count of \(config) overflows: BertConfig.validate refuses such configs")
        }
        self.offsets = offsets
        self.counts = counts
        self.totalCount = total
    }

    /// The number of parameters a config describes, with overflow checks (nil when it overflows).
    public static func checkedCount(config: BertConfig) -> CheckedCount {
        Tensor.allCases.reduce(CheckedCount(0)) { total, tensor in
            total + CheckedCount.product(shape(of: tensor, config: config)) * (tensor.isPerLayer ? config.numHiddenLayers : 1)
        }
    }

    /// Shape of one tensor (one layer's slice for per-layer tensors).
    public static func shape(of tensor: Tensor, config: BertConfig) -> [Int] {
        let C = config.hiddenSize, FF = config.intermediateSize
        switch tensor {
        case .wordEmbeddings: return [config.vocabSize, C]
        case .positionEmbeddings: return [config.maxPositionEmbeddings, C]
        case .tokenTypeEmbeddings: return [config.typeVocabSize, C]
        case .embeddingNormWeight, .embeddingNormBias: return [C]
        case .qkvWeight: return [3 * C, C]
        case .qkvBias: return [3 * C]
        case .attentionOutputWeight: return [C, C]
        case .intermediateWeight: return [FF, C]
        case .intermediateBias: return [FF]
        case .outputWeight: return [C, FF]
        case .attentionOutputBias, .attentionNormWeight, .attentionNormBias,
             .outputBias, .outputNormWeight, .outputNormBias: return [C]
        }
    }

    public func shape(of tensor: Tensor) -> [Int] { Self.shape(of: tensor, config: config) }
    public func count(of tensor: Tensor) -> Int { counts[tensor.rawValue] }

    /// Offset of `tensor` (of `layer`'s slice for per-layer tensors) into the flat block.
    public func offset(of tensor: Tensor, layer: Int = 0) -> Int {
        precondition(tensor.isPerLayer || layer == 0, "\(tensor) is not a per-layer tensor")
        return offsets[tensor.rawValue] + layer * counts[tensor.rawValue]
    }

    /// Offsets of the whole tensor (all layers) in the flat block.
    public func range(of tensor: Tensor) -> Range<Int> {
        let begin = offsets[tensor.rawValue]
        return begin..<(begin + counts[tensor.rawValue] * (tensor.isPerLayer ? config.numHiddenLayers : 1))
    }
}

/// A flat, 64-byte-aligned float buffer the size of a layout: parameters, their gradients, or AdamW moments.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int, zeroed: Bool = true) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { pointer.update(repeating: 0, count: count) }
    }

    public convenience init(copying values: [Float]) {
        self.init(count: values.count, zeroed: false)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    public func zero() { pointer.update(repeating: 0, count: count) }
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    public func copy() -> FloatBuffer {
        let other = FloatBuffer(count: count, zeroed: false)
        other.pointer.update(from: pointer, count: count)
        return other
    }
}

/// The encoder's parameters: a layout and the flat buffer it describes.
public final class EncoderParameters: @unchecked Sendable {
    public let layout: EncoderParameterLayout
    public let storage: FloatBuffer

    public init(layout: EncoderParameterLayout, storage: FloatBuffer? = nil) {
        precondition(storage == nil || storage!.count == layout.totalCount)
        self.layout = layout
        self.storage = storage ?? FloatBuffer(count: layout.totalCount)
    }

    public var config: BertConfig { layout.config }

    /// Pointer to `tensor` (to `layer`'s slice for per-layer tensors).
    @inline(__always)
    public func pointer(_ tensor: EncoderParameterLayout.Tensor, layer: Int = 0) -> UnsafeMutablePointer<Float> {
        storage.pointer + layout.offset(of: tensor, layer: layer)
    }

    public func copy() -> EncoderParameters { EncoderParameters(layout: layout, storage: storage.copy()) }
}

extension BertConfig {
    /// BERT's adaptable linear layers, by the names PEFT and Hugging Face give them, and (below)
    /// where each lives in the flat block.
    public var linearSites: LinearSiteTable {
        LinearSiteTable(family: "a BERT encoder", backbonePrefix: "bert.", layerPath: "encoder.layer.",
                        sites: EncoderParameterLayout.linearSiteLocations(self).map(\.site))
    }
}

extension EncoderParameterLayout {
    /// Each linear site, the base tensor it lives in, and its first output row there (query, key
    /// and value are row blocks of the fused (3C, C) weight).
    static func linearSiteLocations(_ config: BertConfig) -> [(site: LinearSite, tensor: Tensor, rowOffset: Int)] {
        let C = config.hiddenSize, FF = config.intermediateSize
        return [
            (LinearSite(name: "query", modulePath: "attention.self.query", role: .query, out: C, in: C), .qkvWeight, 0),
            (LinearSite(name: "key", modulePath: "attention.self.key", role: .key, out: C, in: C), .qkvWeight, C),
            (LinearSite(name: "value", modulePath: "attention.self.value", role: .value, out: C, in: C), .qkvWeight, 2 * C),
            (LinearSite(name: "attention.output.dense", modulePath: "attention.output.dense", role: .attentionOutput, out: C, in: C),
             .attentionOutputWeight, 0),
            (LinearSite(name: "intermediate.dense", modulePath: "intermediate.dense", role: nil, out: FF, in: C), .intermediateWeight, 0),
            (LinearSite(name: "output.dense", modulePath: "output.dense", role: nil, out: C, in: FF), .outputWeight, 0),
        ]
    }

    /// Where a site of `config.linearSites` lives in the flat block.
    public func location(of site: LinearSite) -> (tensor: Tensor, rowOffset: Int) {
        guard let entry = Self.linearSiteLocations(config).first(where: { $0.site == site }) else {
            preconditionFailure("\(site.name) is not a linear site of this BERT encoder")
        }
        return (entry.tensor, entry.rowOffset)
    }
}
