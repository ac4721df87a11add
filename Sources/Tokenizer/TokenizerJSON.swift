import Foundation
import InputFiles

extension ByteLevelBPETokenizer {
    /// A Hugging Face `tokenizer.json` of a byte-level BPE model (Llama 3, Qwen, SmolLM, GPT-2):
    /// `model.vocab` and `model.merges` (as "a b" strings or [a, b] pairs), the `added_tokens`
    /// marked special, and the pre-tokenizer — `ByteLevel` with its regex, optionally after
    /// `Digits(individual_digits)`. Other pipelines (a normalizer, `Split` with another pattern,
    /// byte fallback, `ignore_merges`) are refused by name, not approximated.
    public init(tokenizerJSON url: URL) throws {
        let data: Data
        do { data = try InputFile.contents(of: url, mapped: true) } catch {
            throw TokenizerError(file: url, "cannot read the file: \(error.reason)")
        }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TokenizerError(file: url, "not a JSON object")
        }
        guard let model = root["model"] as? [String: Any], (model["type"] as? String) == "BPE" else {
            throw TokenizerError(file: url, "field \"model.type\" is \((root["model"] as? [String: Any])?["type"].map { "\"\($0)\"" } ?? "missing"); expected \"BPE\"")
        }
        for flag in ["byte_fallback", "ignore_merges"] where (model[flag] as? Bool) == true {
            throw TokenizerError(file: url, "field \"model.\(flag)\" is true, which this tokenizer does not implement")
        }
        if let normalizer = root["normalizer"] as? [String: Any] {
            throw TokenizerError(file: url, "field \"normalizer\" is \(normalizer["type"] ?? "set"); byte-level BPE with a normalizer is not supported")
        }
        guard let vocab = model["vocab"] as? [String: Any], !vocab.isEmpty else {
            throw TokenizerError(file: url, "field \"model.vocab\" is missing or empty")
        }
        var tokens = [String?](repeating: nil, count: vocab.count)
        for (token, value) in vocab {
            guard let id = (value as? NSNumber)?.intValue, id >= 0, id < vocab.count else {
                throw TokenizerError(file: url, "vocabulary entry \"\(token)\" has id \(value), expected 0..<\(vocab.count)")
            }
            guard tokens[id] == nil else { throw TokenizerError(file: url, "id \(id) is given to two tokens") }
            tokens[id] = token
        }
        var specialIDs: Set<Int32> = []
        for case let added as [String: Any] in (root["added_tokens"] as? [Any]) ?? [] {
            guard let id = (added["id"] as? NSNumber)?.intValue, id >= 0, let content = added["content"] as? String else {
                throw TokenizerError(file: url, "an entry of \"added_tokens\" lacks an id or content")
            }
            if id >= tokens.count { tokens += [String?](repeating: nil, count: id + 1 - tokens.count) }
            if let existing = tokens[id], existing != content {
                throw TokenizerError(file: url, "added token \(id) \"\(content)\" differs from the vocabulary's \"\(existing)\"")
            }
            tokens[id] = content
            if (added["special"] as? Bool) == true { specialIDs.insert(Int32(id)) }
        }
        if let gap = tokens.firstIndex(where: { $0 == nil }) {
            throw TokenizerError(file: url, "no token has id \(gap) (ids must run from 0 without gaps)")
        }
        var merges: [String] = []
        for (index, merge) in ((model["merges"] as? [Any]) ?? []).enumerated() {
            if let text = merge as? String { merges.append(text) } else if let pair = merge as? [String], pair.count == 2 {
                merges.append(pair[0] + " " + pair[1])
            } else {
                throw TokenizerError(file: url, "merge \(index) is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        try self.init(tokens: tokens.map { $0! }, merges: merges, specialIDs: specialIDs,
                      splitDigits: try Self.digitSplit(root["pre_tokenizer"], url), source: url)
    }

    /// Whether the pre-tokenizer isolates digits first; throws unless it is `ByteLevel` (with the
    /// regex), possibly in a `Sequence` after `Digits`.
    private static func digitSplit(_ value: Any?, _ url: URL) throws -> Bool {
        guard let pre = value as? [String: Any], let type = pre["type"] as? String else {
            throw TokenizerError(file: url, "field \"pre_tokenizer\" is missing; byte-level BPE needs a ByteLevel pre-tokenizer")
        }
        func isByteLevel(_ step: [String: Any]) -> Bool {
            (step["type"] as? String) == "ByteLevel" && (step["use_regex"] as? Bool ?? true) && !(step["add_prefix_space"] as? Bool ?? false)
        }
        if type == "ByteLevel", isByteLevel(pre) { return false }
        if type == "Sequence", let steps = pre["pretokenizers"] as? [[String: Any]] {
            if steps.count == 1, isByteLevel(steps[0]) { return false }
            if steps.count == 2, (steps[0]["type"] as? String) == "Digits", (steps[0]["individual_digits"] as? Bool) == true,
               isByteLevel(steps[1]) { return true }
        }
        throw TokenizerError(file: url, "field \"pre_tokenizer\" (\(type)) is not one this release implements: ByteLevel (use_regex, no prefix space), optionally after Digits(individual_digits)")
    }
}
