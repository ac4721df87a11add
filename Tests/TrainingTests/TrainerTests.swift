import Adapters
import Kernels
import Model
import Training
import XCTest

/// The trainer on a tiny random model: reproducibility, what each method may change, NaN handling,
/// early stopping and the schedules.
final class TrainerTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    let config = BertConfig(vocabSize: 40, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2,
                            intermediateSize: 24, maxPositionEmbeddings: 48)

    /// A learnable toy task: label 1 when token 7 occurs.
    func examples(_ count: Int, seed: UInt64) -> [TrainingExample] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let length = 3 + Int(generator.next() % 8)
            var ids: [Int32] = [1] + (0..<length).map { _ in Int32(8 + generator.next() % 30) } + [2]
            let positive = generator.next() % 2 == 0
            if positive { ids[1 + Int(generator.next() % UInt64(length))] = 7 }
            return TrainingExample(ids: ids, label: positive ? 1 : 0)
        }
    }

    func makeModel(_ method: FineTuningMethod, base: EncoderParameters) throws -> TrainableModel {
        let head = ClassificationHead(hiddenSize: config.hiddenSize, classCount: 2)
        var generator = SeededGenerator(seed: 9)
        for i in 0..<head.parameters.count { head.parameters.pointer[i] = 0.1 * generator.nextNormal() }
        return try TrainableModel(method: method, base: base, head: head, tokenizer: nil, seed: 5)
    }

    var methods: [FineTuningMethod] {
        get throws {
            [.full(freezeEmbeddings: false), .full(freezeEmbeddings: true),
             .lora(try LoRAConfiguration(rank: 2, alpha: 4, dropout: 0.1, targets: config.linearSites.sites)),
             .qlora(try LoRAConfiguration(rank: 2, alpha: 4, targets: config.linearSites.sites(.query, .value)), doubleQuantize: true),
             .prompt(try PromptTuningConfiguration(virtualTokens: 3, initialization: .randomVocabulary))]
        }
    }

    func testSameSeedGivesBitIdenticalWeightsAndPredictions() throws {
        var settings = TrainerSettings()
        settings.epochs = 2
        settings.batchSize = 8
        settings.optimizer = AdamWSettings(learningRate: 1e-2)
        let train = examples(40, seed: 1), validation = examples(16, seed: 2)
        for method in try methods {
            var runs: [[Float]] = []
            for _ in 0..<2 {
                let base = EncoderParameters.random(config: config, seed: 3)
                let model = try makeModel(method, base: base)
                _ = try Trainer(model: model, settings: settings).train(train, validation: validation)
                let weights = model.trainable.flatMap { Array(UnsafeBufferPointer(start: $0.values, count: $0.count)) }
                runs.append(weights + model.classifier.probabilities(TokenBatch(sequences: validation.map(\.ids))))
            }
            XCTAssertEqual(runs[0], runs[1], "\(method.name): same seed must give identical weights and predictions")
        }
    }

    /// One step may change the method's trainable tensors and nothing else.
    func testAStepChangesOnlyWhatTheMethodMayTrain() throws {
        let batch = TokenBatch(sequences: examples(4, seed: 1).map(\.ids))
        for method in try methods {
            let base = EncoderParameters.random(config: config, seed: 3)
            let baseBefore = base.storage.array
            let model = try makeModel(method, base: base)
            let encoder = model.classifier.encoder.parameters
            let encoderBefore = encoder.storage.array
            let headBefore = model.classifier.head.parameters.array
            let optimizer = AdamWOptimizer(tensors: model.trainable, settings: AdamWSettings(learningRate: 1e-2))
            optimizer.zeroGradients()
            _ = model.lossAndGradients(batch, labels: [0, 1, 1, 0], dropout: .off, classifierDropout: 0)
            optimizer.update()

            XCTAssertEqual(base.storage.array, baseBefore, "\(method.name): the shared base must never change")
            let head = model.classifier.head
            let headAfter = head.parameters.array
            XCTAssertNotEqual(Array(headAfter[head.classifierOffset...]), Array(headBefore[head.classifierOffset...]),
                              "\(method.name): the classifier trains for every method")
            let poolerChanged = Array(headAfter[..<head.classifierOffset]) != Array(headBefore[..<head.classifierOffset])
            let layout = encoder.layout
            let encoderAfter = encoder.storage.array
            func changed(_ tensor: EncoderParameterLayout.Tensor) -> Bool {
                let range = layout.range(of: tensor)
                return Array(encoderAfter[range]) != Array(encoderBefore[range])
            }
            switch method {
            case .full(let freeze):
                XCTAssertTrue(poolerChanged, "full trains the pooler")
                XCTAssertTrue(changed(.qkvWeight) && changed(.outputNormBias))
                XCTAssertEqual(changed(.wordEmbeddings), !freeze, "embeddings train unless frozen")
                XCTAssertEqual(changed(.embeddingNormWeight), !freeze)
            default:
                XCTAssertFalse(poolerChanged, "\(method.name) keeps the pooler frozen, as PEFT does")
                XCTAssertEqual(encoderAfter, encoderBefore, "\(method.name) keeps every base weight frozen")
                let adapterValues = model.trainable.dropLast().flatMap { Array(UnsafeBufferPointer(start: $0.values, count: $0.count)) }
                XCTAssertFalse(adapterValues.isEmpty)
            }
        }
    }

    func testNonFiniteLossStopsWithAClearError() throws {
        let base = EncoderParameters.random(config: config, seed: 3)
        let model = try makeModel(.lora(try LoRAConfiguration(rank: 2, alpha: 4, targets: config.linearSites.sites(.query, .value))), base: base)
        model.classifier.head.classifierWeight[0] = .nan
        var settings = TrainerSettings()
        settings.batchSize = 8
        XCTAssertThrowsError(try Trainer(model: model, settings: settings).train(examples(16, seed: 1), validation: examples(8, seed: 2))) { error in
            XCTAssertTrue("\(error)".contains("loss became NaN at epoch 1, step 1"), "\(error)")
        }
    }

    func testTrainingLearnsAndEarlyStoppingRestoresTheBestEpoch() throws {
        var settings = TrainerSettings()
        settings.epochs = 40
        settings.batchSize = 8
        settings.patience = 4
        settings.hiddenDropout = 0
        settings.attentionDropout = 0
        settings.classifierDropout = 0
        settings.optimizer = AdamWSettings(learningRate: 3e-3)
        settings.schedule = .constant
        let base = EncoderParameters.random(config: config, seed: 3)
        let model = try makeModel(.full(freezeEmbeddings: false), base: base)
        let trainer = Trainer(model: model, settings: settings)
        let validation = examples(32, seed: 2)
        let outcome = try trainer.train(examples(96, seed: 1), validation: validation)
        XCTAssertGreaterThan(outcome.history.map(\.validationAccuracy).max()!, 0.75, "the toy task is learnable")
        let best = outcome.history[outcome.bestEpoch]
        XCTAssertEqual(best.validationLoss, outcome.history.map(\.validationLoss).min()!)
        // The restored weights reproduce the best epoch's validation loss.
        XCTAssertEqual(trainer.evaluate(validation).loss, best.validationLoss, accuracy: 1e-9)
        if outcome.earlyStopped { XCTAssertEqual(outcome.history.count, outcome.bestEpoch + 1 + settings.patience) }

        // Validation labels flipped: validation loss rises as training succeeds, so early stopping
        // fires `patience` epochs after the best one and the best weights come back.
        let flipped = validation.map { TrainingExample(ids: $0.ids, label: 1 - $0.label) }
        let overfitting = try makeModel(.full(freezeEmbeddings: false), base: base)
        let stopper = Trainer(model: overfitting, settings: settings)
        let stopped = try stopper.train(examples(96, seed: 1), validation: flipped)
        XCTAssertTrue(stopped.earlyStopped)
        XCTAssertEqual(stopped.history.count, stopped.bestEpoch + 1 + settings.patience)
        XCTAssertEqual(stopper.evaluate(flipped).loss, stopped.history[stopped.bestEpoch].validationLoss, accuracy: 1e-9)
    }

    func testSchedules() {
        XCTAssertEqual(LearningRateSchedule.linear.factor(step: 0, totalSteps: 100, warmupSteps: 10), 0)
        XCTAssertEqual(LearningRateSchedule.linear.factor(step: 5, totalSteps: 100, warmupSteps: 10), 0.5)
        XCTAssertEqual(LearningRateSchedule.linear.factor(step: 10, totalSteps: 100, warmupSteps: 10), 1)
        XCTAssertEqual(LearningRateSchedule.linear.factor(step: 55, totalSteps: 100, warmupSteps: 10), 0.5)
        XCTAssertEqual(LearningRateSchedule.cosine.factor(step: 55, totalSteps: 100, warmupSteps: 10), 0.5, accuracy: 1e-12)
        XCTAssertEqual(LearningRateSchedule.constant.factor(step: 99, totalSteps: 100, warmupSteps: 10), 1)
    }
}
