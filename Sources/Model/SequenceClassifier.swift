import Kernels

/// Encoder + classification head: the model every candidate trains and every evaluation runs.
public final class SequenceClassifier: @unchecked Sendable {
    public let encoder: BertEncoder
    public let head: ClassificationHead
    /// Gradient of the last hidden state, (B, T, C); reused across steps.
    private var dHidden = FloatBuffer(count: 0)

    public init(encoder: BertEncoder, head: ClassificationHead) {
        precondition(encoder.config.hiddenSize == head.hiddenSize)
        self.encoder = encoder
        self.head = head
    }

    public var classCount: Int { head.classCount }

    /// Training forward: mean cross-entropy of `labels` (B) on `batch`, with dropout as given
    /// (`.off` for deterministic checks; `classifierDropout` before the classifier).
    public func loss(_ batch: TokenBatch, labels: [Int32], dropout: DropoutSettings, classifierDropout: Float) -> Double {
        encoder.trainingForward(batch, dropout: dropout)
        return head.forward(encoder.activations, labels: labels, dropout: classifierDropout, seed: dropout.seed &+ 0xC1A5)!
    }

    /// Backward of the last `loss`: head gradients into `headGradients` (layout of
    /// `head.parameters`), base gradients into `encoderGradients` when the base trains, adapter
    /// gradients inside the encoder's adapter.
    public func backward(encoderGradients: EncoderParameters?, headGradients: FloatBuffer, trainPooler: Bool, trainEmbeddings: Bool = true) {
        let a = encoder.activations
        let count = a.batchSize * a.tokens * encoder.config.hiddenSize
        if dHidden.count < count { dHidden = FloatBuffer(count: count, zeroed: false) }
        head.backward(gradients: headGradients, dHidden: dHidden.pointer, tokens: a.tokens, trainPooler: trainPooler)
        encoder.backward(dLastHidden: dHidden.pointer, gradients: encoderGradients, trainEmbeddings: trainEmbeddings)
    }

    /// Inference: softmax probabilities (B, K) for `batch`, dropout off.
    public func probabilities(_ batch: TokenBatch) -> [Float] {
        encoder.forward(batch)
        head.forward(encoder.activations)
        return head.probabilities
    }
}
