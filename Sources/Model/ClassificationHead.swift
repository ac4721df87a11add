import Kernels

/// Hugging Face's `BertForSequenceClassification` head, so adapters saved by evalharness load into
/// `AutoModelForSequenceClassification` + PEFT and predict the same labels:
///   logits = classifier(dropout(tanh(pooler(h[:, 0]))))
/// where h[:, 0] is the first position — [CLS], or with prompt tuning the first virtual token, as
/// PEFT feeds it.
///
/// Parameters are one flat block: pooler weight (C, C) | pooler bias (C) | classifier weight (K, C) |
/// classifier bias (K). The pooler comes from the checkpoint (`pooler.dense.*`) and is part of the
/// frozen base except in full fine-tuning; the classifier is trainable for every method.
public final class ClassificationHead: @unchecked Sendable {
    public let hiddenSize: Int
    public let classCount: Int
    public let parameters: FloatBuffer

    // Activations of the last forward, (B, ·).
    private var first = [Float]()          // (B, C) h[:, 0]
    private var pooled = [Float]()         // (B, C) tanh(pooler(first))
    private var dropped = [Float]()        // (B, C) dropout(pooled)
    private var dropoutMask: [UInt8]? = nil // (B, C) 1 keep / 0 drop
    private var dropoutScaleFactor: Float = 1
    public private(set) var logits = [Float]()        // (B, K)
    public private(set) var probabilities = [Float]() // (B, K)
    private var labels = [Int32]()
    private var batchSize = 0
    /// Per-class loss weights (K, positive), PyTorch's `cross_entropy(weight=)`; nil: unweighted.
    public var classWeights: [Float]? {
        didSet { precondition(classWeights.map { $0.count == classCount && $0.allSatisfy { $0 > 0 && $0.isFinite } } ?? true,
                              "one positive finite weight per class") }
    }

    public var poolerWeightCount: Int { hiddenSize * hiddenSize + hiddenSize }
    public var poolerWeight: UnsafeMutablePointer<Float> { parameters.pointer }
    public var poolerBias: UnsafeMutablePointer<Float> { parameters.pointer + hiddenSize * hiddenSize }
    public var classifierWeight: UnsafeMutablePointer<Float> { parameters.pointer + poolerWeightCount }
    public var classifierBias: UnsafeMutablePointer<Float> { classifierWeight + classCount * hiddenSize }
    /// Offset of the classifier in the flat block: everything before it is the pooler.
    public var classifierOffset: Int { poolerWeightCount }

    public init(hiddenSize: Int, classCount: Int) {
        precondition(classCount >= 2, "a classifier needs at least two classes")
        self.hiddenSize = hiddenSize
        self.classCount = classCount
        parameters = FloatBuffer(count: hiddenSize * hiddenSize + hiddenSize + classCount * hiddenSize + classCount)
    }

    /// The checkpoint's pooler and a fresh classifier: weights N(0, 0.02) as `transformers`
    /// initialises them (initializer_range), bias zero.
    public static func load(from file: SafeTensorsFile, config: BertConfig, classCount: Int, seed: UInt64) throws -> ClassificationHead {
        let pooler = try Pooler(from: file, config: config)
        return ClassificationHead(pooler: pooler, classCount: classCount, seed: seed)
    }

    /// A head with the given pooler and a fresh classifier (see `load`).
    public convenience init(pooler: Pooler, classCount: Int, seed: UInt64) {
        let C = pooler.bias.count
        self.init(hiddenSize: C, classCount: classCount)
        poolerWeight.update(from: pooler.weight, count: C * C)
        poolerBias.update(from: pooler.bias, count: C)
        var generator = SeededGenerator(seed: seed)
        for i in 0..<(classCount * C) { classifierWeight[i] = 0.02 * generator.nextNormal() }
    }

    /// The checkpoint's `pooler.dense` weights, read once and shared by every candidate's head.
    public struct Pooler: Sendable {
        public let weight: [Float]  // (C, C)
        public let bias: [Float]    // (C)
        public init(from file: SafeTensorsFile, config: BertConfig) throws {
            let C = config.hiddenSize
            weight = try file.finiteFloats("pooler.dense.weight", shape: [C, C])
            bias = try file.finiteFloats("pooler.dense.bias", shape: [C])
        }
    }

    /// Logits and softmax probabilities for the encoder's current batch; with `labels`, also the
    /// mean cross-entropy loss (returned). Dropout applies only when `dropout > 0`.
    @discardableResult
    public func forward(_ activations: EncoderActivations, labels: [Int32]? = nil, dropout: Float = 0, seed: UInt64 = 0) -> Double? {
        let B = activations.batchSize, T = activations.tokens, C = hiddenSize, K = classCount
        batchSize = B
        first = [Float](repeating: 0, count: B * C)
        for b in 0..<B { first.withUnsafeMutableBufferPointer { ($0.baseAddress! + b * C).update(from: activations.lastHiddenState + b * T * C, count: C) } }
        var preActivation = [Float](repeating: 0, count: B * C)
        matmulForward(out: &preActivation, inp: first, weight: poolerWeight, bias: poolerBias, rows: B, inFeatures: C, outFeatures: C)
        pooled = [Float](repeating: 0, count: B * C)
        tanhForward(out: &pooled, inp: preActivation, count: B * C)
        dropped = pooled
        if dropout > 0 {
            var mask = [UInt8](repeating: 0, count: B * C)
            dropoutMaskFill(mask: &mask, count: B * C, probability: dropout, seed: seed)
            dropoutScaleFactor = dropoutScale(probability: dropout)
            applyDropoutMask(&dropped, mask, scale: dropoutScaleFactor, count: B * C)
            dropoutMask = mask
        } else {
            dropoutMask = nil
        }
        logits = [Float](repeating: 0, count: B * K)
        matmulForward(out: &logits, inp: dropped, weight: classifierWeight, bias: classifierBias, rows: B, inFeatures: C, outFeatures: K)
        probabilities = [Float](repeating: 0, count: B * K)
        guard let labels else {
            for b in 0..<B {
                probabilities.withUnsafeMutableBufferPointer { p in
                    (p.baseAddress! + b * K).update(from: logits.withUnsafeBufferPointer { $0.baseAddress! + b * K }, count: K)
                    softmaxInPlace(p.baseAddress! + b * K, count: K)
                }
            }
            return nil
        }
        precondition(labels.count == B && labels.allSatisfy { $0 >= 0 && Int($0) < K }, "labels must be in 0..<\(K)")
        self.labels = labels
        return crossEntropyForward(probabilities: &probabilities, logits: logits, labels: labels, classWeights: classWeights,
                                   batch: B, classes: K)
    }

    /// Backward of the loss of the last `forward`: accumulates head gradients into `gradients`
    /// (same layout as `parameters`; the pooler's only when `trainPooler`) and writes the gradient
    /// of the encoder's last hidden state into `dHidden` (B, T, C), zero except at position 0.
    public func backward(gradients: FloatBuffer, dHidden: UnsafeMutablePointer<Float>, tokens T: Int, trainPooler: Bool) {
        let B = batchSize, C = hiddenSize, K = classCount
        var dLogits = [Float](repeating: 0, count: B * K)
        crossEntropyBackward(dlogits: &dLogits, probabilities: probabilities, labels: labels, classWeights: classWeights,
                             batch: B, classes: K)
        var dDropped = [Float](repeating: 0, count: B * C)
        let g = gradients.pointer
        matmulBackward(dinp: &dDropped, dweight: g + classifierOffset, dbias: g + classifierOffset + K * C,
                       dout: dLogits, inp: dropped, weight: classifierWeight, rows: B, inFeatures: C, outFeatures: K)
        if let dropoutMask { applyDropoutMask(&dDropped, dropoutMask, scale: dropoutScaleFactor, count: B * C) }
        var dPre = [Float](repeating: 0, count: B * C)
        tanhBackward(dinp: &dPre, out: pooled, dout: dDropped, count: B * C)
        var dFirst = [Float](repeating: 0, count: B * C)
        matmulBackward(dinp: &dFirst, dweight: trainPooler ? g : nil, dbias: trainPooler ? g + C * C : nil,
                       dout: dPre, inp: first, weight: poolerWeight, rows: B, inFeatures: C, outFeatures: C)
        dHidden.update(repeating: 0, count: B * T * C)
        for b in 0..<B { (dHidden + b * T * C).update(from: dFirst.withUnsafeBufferPointer { $0.baseAddress! + b * C }, count: C) }
    }
}
