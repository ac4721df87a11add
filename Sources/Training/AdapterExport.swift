import Adapters
import Foundation
import Model

/// Saves a trained candidate so Hugging Face tools load it:
/// - LoRA / QLoRA / prompt tuning: PEFT's layout for `task_type: SEQ_CLS` — `adapter_config.json` +
///   `adapter_model.safetensors`, the classifier saved as a module to save — so
///   `PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(BASE, num_labels=K), DIR)`
///   predicts what evalharness predicts (for QLoRA, with the base loaded in 4-bit NF4);
/// - full fine-tuning: a model folder `AutoModelForSequenceClassification.from_pretrained(DIR)` loads.
/// Files are written to a temporary sibling folder, then renamed to `directory`, which must not
/// exist yet: replacing a previous adapter is the output set's job (Reports' `OutputSet`, which
/// swaps all outputs of a run together).
public enum AdapterExport {
    public static func save(_ model: TrainableModel, labels: [String], baseModelDirectory: URL, to directory: URL) throws {
        try writeStaged(to: directory) { staging in
            try writeFiles(model, labels: labels, baseModelDirectory: baseModelDirectory, into: staging)
        }
    }

    /// Runs `write` on a temporary sibling folder of `directory`, then renames it to `directory`;
    /// on any failure the partial folder is removed, so no half-written adapter is ever left.
    static func writeStaged(to directory: URL, _ write: (URL) throws -> Void) throws {
        let fileManager = FileManager.default
        let staging = directory.deletingLastPathComponent()
            .appendingPathComponent(".\(directory.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        try? fileManager.removeItem(at: staging)
        try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
        do {
            try write(staging)
            try fileManager.moveItem(at: staging, to: directory)
        } catch {
            try? fileManager.removeItem(at: staging)
            throw error
        }
    }

    /// Every file of the saved adapter or model, into `staging`.
    static func writeFiles(_ model: TrainableModel, labels: [String], baseModelDirectory: URL, into staging: URL) throws {
        let head = model.classifier.head
        let C = head.hiddenSize, K = head.classCount
        let classifierWeight = Array(UnsafeBufferPointer(start: head.classifierWeight, count: K * C))
        let classifierBias = Array(UnsafeBufferPointer(start: head.classifierBias, count: K))

        switch model.method {
        case .full:
            var tensors = model.classifier.encoder.parameters.namedTensors().map { (name: "bert." + $0.name, shape: $0.shape, values: $0.values) }
            tensors.append(("bert.pooler.dense.weight", [C, C], Array(UnsafeBufferPointer(start: head.poolerWeight, count: C * C))))
            tensors.append(("bert.pooler.dense.bias", [C], Array(UnsafeBufferPointer(start: head.poolerBias, count: C))))
            tensors.append(("classifier.weight", [K, C], classifierWeight))
            tensors.append(("classifier.bias", [K], classifierBias))
            try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: staging.appendingPathComponent("model.safetensors"))
            try writeSequenceClassificationConfig(base: baseModelDirectory, labels: labels, to: staging.appendingPathComponent("config.json"))
            for name in ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] {
                let source = baseModelDirectory.appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: source.path) {
                    try FileManager.default.copyItem(at: source, to: staging.appendingPathComponent(name))
                }
            }
        case .lora(let configuration), .qlora(let configuration, _):
            var tensors = model.lora!.peftTensors()
            tensors.append(("base_model.model.classifier.weight", [K, C], classifierWeight))
            tensors.append(("base_model.model.classifier.bias", [K], classifierBias))
            try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: staging.appendingPathComponent("adapter_model.safetensors"))
            var config = configuration.peftConfig(taskType: "SEQ_CLS", baseModel: baseModelDirectory.path)
            config["modules_to_save"] = ["classifier", "score"]
            try writeJSON(config, to: staging.appendingPathComponent("adapter_config.json"))
        case .prompt(let configuration):
            let prompt = model.prompt!, P = configuration.virtualTokens
            var tensors: [(name: String, shape: [Int], values: [Float])] = [
                ("base_model.classifier.weight", [K, C], classifierWeight),
                ("base_model.classifier.bias", [K], classifierBias),
            ]
            if P > 0 {
                tensors.append(("prompt_embeddings", [P, C], Array(UnsafeBufferPointer(start: prompt.parameters.pointer, count: P * C))))
            }
            try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: staging.appendingPathComponent("adapter_model.safetensors"))
            let config = model.classifier.encoder.config
            var peftConfig = configuration.peftConfig(taskType: "SEQ_CLS", tokenDim: C, heads: config.numAttentionHeads,
                                                      layers: config.numHiddenLayers, baseModel: baseModelDirectory.path)
            peftConfig["modules_to_save"] = ["classifier", "score"]
            try writeJSON(peftConfig, to: staging.appendingPathComponent("adapter_config.json"))
        }
    }

    /// The base config.json turned into a BertForSequenceClassification config with the suite's labels.
    static func writeSequenceClassificationConfig(base: URL, labels: [String], to url: URL) throws {
        let data = try Data(contentsOf: base.appendingPathComponent("config.json"))
        guard var config = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelInputError(file: base.appendingPathComponent("config.json").path, detail: "expected a JSON object")
        }
        config["architectures"] = ["BertForSequenceClassification"]
        config["id2label"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ("\($0.offset)", $0.element) })
        config["label2id"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
        config["problem_type"] = "single_label_classification"
        try writeJSON(config, to: url)
    }

    static func writeJSON(_ object: [String: Any], to url: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try data.write(to: url, options: .atomic)
    }
}
