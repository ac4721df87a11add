import Foundation

/// Learning-rate schedules with linear warm-up, as `transformers`' `get_*_schedule_with_warmup`:
/// the factor rises linearly from 0 to 1 over the warm-up steps, then decays.
public enum LearningRateSchedule: String, Sendable, Codable, CaseIterable {
    /// Linear decay to 0 at the last step.
    case linear
    /// Half a cosine wave to 0 at the last step.
    case cosine
    /// Stays at 1 after warm-up.
    case constant

    /// Multiplier of the base learning rate at `step` (0-based) of `totalSteps`.
    public func factor(step: Int, totalSteps: Int, warmupSteps: Int) -> Double {
        if step < warmupSteps { return Double(step) / Double(max(1, warmupSteps)) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        switch self {
        case .linear: return max(0, 1 - progress)
        case .cosine: return max(0, 0.5 * (1 + cos(Double.pi * progress)))
        case .constant: return 1
        }
    }
}
