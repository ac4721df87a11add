import Evaluation
import Foundation
import Runner
import Training

/// Progress of a suite run on stderr: on a terminal, one live line per candidate (epoch,
/// step/total, loss, examples/s, ETA) that is rewritten in place; without one (CI), a plain line
/// per epoch; nothing with `--quiet`.
final class ProgressPrinter: RunProgressObserver {
    private let quiet: Bool
    private let live = isatty(STDERR_FILENO) == 1
    private var lastDraw = Date.distantPast

    init(quiet: Bool) { self.quiet = quiet }

    private func write(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data(text.utf8))
    }

    func note(_ message: String) { write("\(message)\n") }

    func candidateStarted(_ name: String, method: String, index: Int, count: Int) {
        write("[\(index + 1)/\(count)] \(name) (\(method)): \(method == "base" ? "evaluating (no training)" : "training")\n")
    }

    func training(_ name: String, _ progress: TrainingProgress) {
        if let epoch = progress.finishedEpoch {
            let line = String(format: "  %@ epoch %d/%d: train loss %.4f acc %.3f · val loss %.4f acc %.3f · %.0f ex/s · %.1fs",
                              name, progress.epoch, progress.epochs, epoch.trainLoss, epoch.trainAccuracy,
                              epoch.validationLoss, epoch.validationAccuracy, progress.examplesPerSecond, epoch.seconds)
            write(live ? "\r\u{1B}[2K\(line)\n" : "\(line)\n")
            return
        }
        guard live, Date().timeIntervalSince(lastDraw) > 0.2 else { return }
        lastDraw = Date()
        let line = String(format: "  %@ epoch %d/%d · step %d/%d · loss %.4f · %.0f ex/s · ETA %@",
                          name, progress.epoch, progress.epochs, progress.step, progress.totalSteps, progress.loss,
                          progress.examplesPerSecond, Self.duration(progress.secondsRemaining))
        write("\r\u{1B}[2K\(line)")
    }

    func scoring(_ name: String, done: Int, of total: Int, seconds: Double) {
        guard live, Date().timeIntervalSince(lastDraw) > 0.2 || done == total else { return }
        lastDraw = Date()
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let remaining = rate > 0 ? Double(total - done) / rate : .infinity
        write("\r\u{1B}[2K" + String(format: "  %@ scoring %d/%d · %.1f ex/s · ETA %@", name, done, total, rate, Self.duration(remaining)))
    }

    func candidateFinished(_ name: String, status: CandidateResult.Status, seconds: Double, detail: String) {
        let mark = status == .ok ? "done" : "FAILED"
        write((live ? "\r\u{1B}[2K" : "") + "  \(name): \(mark) in \(Self.duration(seconds)) · \(detail)\n")
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
