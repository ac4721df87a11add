import Foundation

/// The files of a Hugging Face BERT model folder: `config.json` and `model.safetensors`
/// (the tokenizer's `vocab.txt` is read by `Tokenizer`).
public enum PretrainedEncoder {
    /// Loads config and weights from `directory`; errors name the missing or malformed file.
    public static func loadParameters(directory: URL) throws -> EncoderParameters {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelInputError(file: directory.path, detail: "model folder not found (expected config.json, model.safetensors and vocab.txt; run scripts/fetch_model.sh for the default model)")
        }
        let configURL = directory.appendingPathComponent("config.json")
        let weightsURL = directory.appendingPathComponent("model.safetensors")
        for url in [configURL, weightsURL] where !FileManager.default.fileExists(atPath: url.path) {
            throw ModelInputError(file: url.path, detail: "file not found in the model folder")
        }
        let config = try BertConfig.load(from: configURL)
        let file = try SafeTensorsFile(contentsOf: weightsURL)
        return try EncoderParameters.load(from: file, config: config)
    }
}
