import COpenBLAS
import Foundation
import Kernels

/// A weight matrix (out, in), PyTorch's layout: in fp32, or in the ggml blocks the GGUF file stores
/// (Q4_1, Q8_0, …), decoded a panel of rows at a time inside the product — SmolLM2's weights then
/// take 98 MB instead of 540. The decoded values are the fp32 path's, bit for bit.
public enum LinearWeight: Sendable {
    case dense([Float])
    case blocks(type: GGMLType, bytes: [UInt8], rows: Int, columns: Int)

    /// Bytes held.
    public var byteCount: Int {
        switch self {
        case .dense(let values): values.count * 4
        case .blocks(_, let bytes, _, _): bytes.count
        }
    }

    /// The fp32 values (decoding blocks).
    public var floats: [Float] {
        switch self {
        case .dense(let values): return values
        case .blocks(let type, let bytes, let rows, let columns):
            return [Float](unsafeUninitializedCapacity: rows * columns) { buffer, count in
                bytes.withUnsafeBytes { Dequantize.run(type, from: $0.baseAddress!, count: rows * columns, into: buffer.baseAddress!) }
                count = rows * columns
            }
        }
    }

    /// Row `row` (`columns` values) into `out`: the embedding lookup.
    func copyRow(_ row: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        switch self {
        case .dense(let values):
            values.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + row * columns, count: columns) }
        case .blocks(let type, let bytes, _, _):
            let rowBytes = columns / type.blockSize * type.blockBytes
            bytes.withUnsafeBytes { Dequantize.run(type, from: $0.baseAddress! + row * rowBytes, count: columns, into: out) }
        }
    }

    /// At most this many weight rows are decoded at once: enough output columns for sgemm to run
    /// well, few enough to stay in cache.
    static let maximumPanelRows = 512

    /// out[N, OC] (+)= inp[N, IC] · Wᵀ, as `matmulForward`. Dense weights split the N rows across
    /// workers; blocks split the OC output rows, each worker decoding a panel of weight rows into
    /// its own scratch and multiplying it into its columns of `out`.
    func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows N: Int, inFeatures IC: Int,
                 outFeatures OC: Int, accumulate: Bool = false) {
        switch self {
        case .dense(let values):
            values.withUnsafeBufferPointer {
                matmulForward(out: out, inp: inp, weight: $0.baseAddress!, bias: nil, rows: N, inFeatures: IC, outFeatures: OC,
                              accumulate: accumulate)
            }
        case .blocks(let type, let bytes, _, _):
            let rowBytes = IC / type.blockSize * type.blockBytes
            // Equal panels, a multiple of the worker count of them, so every worker has a share.
            let workers = Parallel.threadCount
            let minimumPanels = (OC + Self.maximumPanelRows - 1) / Self.maximumPanelRows
            let panelCount = max(1, (max(minimumPanels, workers) + workers - 1) / workers * workers)
            let panel = (OC + panelCount - 1) / panelCount
            let panels = (OC + panel - 1) / panel
            bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress!
                Parallel.forEachRange(panels) { range in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: panel * IC)
                    defer { scratch.deallocate() }
                    for p in range {
                        let first = p * panel, count = min(panel, OC - first)
                        Dequantize.run(type, from: base + first * rowBytes, count: count * IC, into: scratch)
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(N), Int32(count), Int32(IC),
                                    1, inp, Int32(IC), scratch, Int32(IC), accumulate ? 1 : 0, out + first, Int32(OC))
                    }
                }
            }
        }
    }
}
