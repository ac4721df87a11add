import Foundation

/// `--shard I/N` (1-based I), `--shard auto` or `--shard auto/N`: which share of a run's units this
/// process runs. `auto` reads the index the scheduler gives each job, with its base:
/// GitLab `parallel:` (CI_NODE_INDEX 1…CI_NODE_TOTAL), Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX
/// 0…completions−1; the count from `auto/N` or EVALHARNESS_SHARD_COUNT) and Slurm arrays
/// (SLURM_ARRAY_TASK_ID from SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT tasks).
public enum ShardSelection {
    /// A shard choice that cannot be honoured, in words naming the variable or value.
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// The 0-based shard index and the shard count.
    public static func parse(_ text: String, environment: [String: String]) throws -> (index: Int, count: Int) {
        func number(_ name: String) throws -> Int? {
            guard let value = environment[name] else { return nil }
            guard let number = Int(value.trimmingCharacters(in: .whitespaces)) else {
                throw Problem(description: "--shard auto: \(name)=\"\(value)\" is not a whole number")
            }
            return number
        }
        func checked(_ index: Int, _ count: Int, _ source: String) throws -> (Int, Int) {
            guard count >= 1, (0..<count).contains(index) else {
                throw Problem(description: "--shard: \(source) gives shard \(index + 1) of \(count); expected 1 to \(max(count, 1))")
            }
            return (index, count)
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts[0] == "auto" {
            guard parts.count <= 2 else { throw Problem(description: "--shard: expected I/N, auto or auto/N, got \"\(text)\"") }
            let explicitCount = try parts.count == 2 ? Int(parts[1]).map { $0 } ?? {
                throw Problem(description: "--shard auto/N: N must be a whole number, got \"\(parts[1])\"")
            }() : nil
            if let index = try number("CI_NODE_INDEX") {
                let count = try explicitCount ?? number("CI_NODE_TOTAL") ?? 1
                return try checked(index - 1, count, "CI_NODE_INDEX=\(index) (1-based), CI_NODE_TOTAL=\(count)")
            }
            if let index = try number("JOB_COMPLETION_INDEX") {
                guard let count = try explicitCount ?? number("EVALHARNESS_SHARD_COUNT") else {
                    throw Problem(description: "--shard auto: JOB_COMPLETION_INDEX=\(index) is set but not the number of shards; use --shard auto/N (N = the Job's completions) or set EVALHARNESS_SHARD_COUNT")
                }
                return try checked(index, count, "JOB_COMPLETION_INDEX=\(index) (0-based), \(count) completions")
            }
            if let task = try number("SLURM_ARRAY_TASK_ID") {
                let minimum = try number("SLURM_ARRAY_TASK_MIN") ?? 0
                guard let count = try explicitCount ?? number("SLURM_ARRAY_TASK_COUNT") else {
                    throw Problem(description: "--shard auto: SLURM_ARRAY_TASK_ID=\(task) is set but not SLURM_ARRAY_TASK_COUNT; use --shard auto/N")
                }
                return try checked(task - minimum, count, "SLURM_ARRAY_TASK_ID=\(task) (from SLURM_ARRAY_TASK_MIN=\(minimum)), \(count) tasks")
            }
            throw Problem(description: "--shard auto: none of CI_NODE_INDEX (GitLab parallel), JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm array) is set; give the shard as I/N (e.g. --shard 2/4)")
        }
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw Problem(description: "--shard: expected I/N (1-based, e.g. 2/4), auto or auto/N, got \"\(text)\"")
        }
        return try checked(index - 1, count, "\(text)")
    }
}
