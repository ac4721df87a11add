import Foundation
import Kernels

/// What a run will allocate, refused up front when it cannot fit: an input that asks for more
/// memory than the machine has (a config with a billion layers, `--batch 100000000`) gets an error
/// naming the bytes instead of an abort or hours of swapping.
///
/// Estimates are lower bounds — the large buffers only — so a refusal is always justified; a run
/// that passes may still need somewhat more.
public struct MemoryBudget: Sendable {
    /// The bytes this process may plan for: the machine's physical memory.
    public let availableBytes: UInt64

    public init(availableBytes: UInt64 = ProcessInfo.processInfo.physicalMemory) {
        self.availableBytes = availableBytes
    }

    /// Throws when `bytes` (nil: the count overflowed) exceed the budget. `what` says what the
    /// memory is for and `source` names the input that asked for it (a file, a field, a flag).
    public func require(_ bytes: CheckedCount, for what: String, source: String) throws(ModelInputError) {
        guard let needed = bytes.value, needed >= 0 else {
            throw ModelInputError(file: source, detail: "\(what) would need more than \(Self.format(Int.max)) (the size overflows)")
        }
        guard UInt64(needed) <= availableBytes else {
            throw ModelInputError(file: source, detail: "\(what) needs at least \(Self.format(needed)); this machine has \(Self.format(availableBytes))")
        }
    }

    /// Bytes in binary units with one decimal: "3.5 GiB".
    public static func format<Count: BinaryInteger>(_ bytes: Count) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes), unit = -1
        while value >= 1024, unit + 1 < units.count {
            value /= 1024
            unit += 1
        }
        return unit < 0 ? "\(bytes) bytes" : String(format: "%.1f ", value) + units[unit]
    }

    /// A lower bound of the bytes an encoder needs for one pass over a (batch, tokens) batch: its
    /// parameters and the pass's activations; for training also the dropout masks, and when every
    /// weight trains (full fine-tuning) their gradients and two AdamW moments.
    public static func encoderBytes(config: BertConfig, batch: Int, tokens: Int,
                                    training: Bool, trainsAllWeights: Bool = false) -> CheckedCount {
        let parameters = EncoderParameterLayout.checkedCount(config: config)
        let activations = EncoderActivations.checkedFloatCount(config: config, batch: batch, tokens: tokens,
                                                               keepAllLayers: training, dropout: training)
        let masks = training ? EncoderActivations.checkedMaskCount(config: config, batch: batch, tokens: tokens,
                                                                   slots: config.numHiddenLayers) : 0
        let parameterCopies = training && trainsAllWeights ? 4 : 1
        return (parameters * parameterCopies + activations) * MemoryLayout<Float>.stride + masks
    }
}
