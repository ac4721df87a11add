/// The ggml tensor encodings a GGUF file may hold, and their dequantisation to Float32, value for
/// value as ggml's reference C code and the `gguf` Python package compute it (the same float32
/// operations in the same order, so the results are bit-identical).
///
/// Every quantised type stores a row in blocks of `blockSize` weights; a row's length must be a
/// multiple of it. Block layouts (little-endian; fp16 = IEEE half):
/// - Q4_0 (32 weights, 18 bytes): d fp16, 16 bytes of nibbles; x = d·(q − 8). Low nibble of byte j
///   is weight j, high nibble weight j + 16.
/// - Q4_1 (32, 20): d fp16, m fp16, 16 bytes of nibbles; x = d·q + m (nibbles as Q4_0).
/// - Q8_0 (32, 34): d fp16, 32 × int8; x = d·q.
/// - Q4_K (256, 144): d fp16, dmin fp16, 12 bytes of packed 6-bit scales and mins (8 of each), 128
///   bytes of nibbles; each 64 weights are two sub-blocks of 32, the first from low nibbles, the
///   second from high nibbles: x = (d·scale)·q − dmin·min.
/// - Q6_K (256, 210): 128 bytes of low 4 bits, 64 bytes of high 2 bits, 16 × int8 scales, d fp16;
///   x = (d·scale)·(q − 32) with q the 6-bit value.
public enum GGMLType: UInt32, CaseIterable, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 8, q4_K = 12, q6_K = 14, bf16 = 30

    /// The name ggml and gguf-py give the type.
    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q8_0: "Q8_0"
        case .q4_K: "Q4_K"
        case .q6_K: "Q6_K"
        case .bf16: "BF16"
        }
    }

    /// Weights per block (1 for the plain float types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q4_0, .q4_1, .q8_0: 32
        case .q4_K, .q6_K: 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q4_0: 18
        case .q4_1: 20
        case .q8_0: 34
        case .q4_K: 144
        case .q6_K: 210
        }
    }

    /// Bytes of `count` weights (a multiple of `blockSize`), or nil on overflow.
    public func byteCount(elements count: Int) -> Int? {
        guard count % blockSize == 0 else { return nil }
        return (CheckedCount(count / blockSize) * blockBytes).value
    }
}

public enum Dequantize {
    /// Decodes `count` weights of `type` from `source` into `destination`. The caller has checked
    /// that `count` is a multiple of the block size and that `source` holds `byteCount(count)`
    /// bytes (the GGUF reader does, once, when it opens the file).
    public static func run(_ type: GGMLType, from source: UnsafeRawPointer, count: Int,
                           into destination: UnsafeMutablePointer<Float>) {
        let blocks = count / type.blockSize
        switch type {
        case .f32:
            for i in 0..<count { destination[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16:
            for i in 0..<count { destination[i] = half(source, 2 * i) }
        case .bf16:
            for i in 0..<count {
                destination[i] = Float(bitPattern: UInt32(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
            }
        case .q4_0:
            for b in 0..<blocks { q4_0(source + b * 18, destination + b * 32) }
        case .q4_1:
            for b in 0..<blocks { q4_1(source + b * 20, destination + b * 32) }
        case .q8_0:
            for b in 0..<blocks { q8_0(source + b * 34, destination + b * 32) }
        case .q4_K:
            for b in 0..<blocks { q4_K(source + b * 144, destination + b * 256) }
        case .q6_K:
            for b in 0..<blocks { q6_K(source + b * 210, destination + b * 256) }
        }
    }

    @inline(__always)
    static func half(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    @inline(__always)
    static func byte(_ base: UnsafeRawPointer, _ offset: Int) -> UInt8 { base.load(fromByteOffset: offset, as: UInt8.self) }

    static func q4_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        for j in 0..<16 {
            let packed = byte(block, 2 + j)
            out[j] = d * Float(Int(packed & 0x0F) - 8)
            out[j + 16] = d * Float(Int(packed >> 4) - 8)
        }
    }

    static func q4_1(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), m = half(block, 2)
        for j in 0..<16 {
            let packed = byte(block, 4 + j)
            out[j] = d * Float(packed & 0x0F) + m
            out[j + 16] = d * Float(packed >> 4) + m
        }
    }

    static func q8_0(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        for j in 0..<32 { out[j] = d * Float(Int8(bitPattern: byte(block, 2 + j))) }
    }

    /// The 6-bit scale and min of sub-block `j` (0..<8) from Q4_K's 12 packed bytes.
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ scales: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
        if j < 4 {
            return (byte(scales, j) & 63, byte(scales, j + 4) & 63)
        }
        return ((byte(scales, j + 4) & 0x0F) | ((byte(scales, j - 4) >> 6) << 4),
                (byte(scales, j + 4) >> 4) | ((byte(scales, j) >> 6) << 4))
    }

    static func q4_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), dmin = half(block, 2)
        let scales = block + 4, quants = block + 16
        for chunk in 0..<4 {  // 64 weights each: low nibbles then high nibbles of 32 bytes
            let (scale1, min1) = scaleMinK4(2 * chunk, scales)
            let (scale2, min2) = scaleMinK4(2 * chunk + 1, scales)
            let d1 = d * Float(scale1), m1 = dmin * Float(min1)
            let d2 = d * Float(scale2), m2 = dmin * Float(min2)
            let q = quants + 32 * chunk
            let y = out + 64 * chunk
            for l in 0..<32 {
                let packed = byte(q, l)
                y[l] = d1 * Float(packed & 0x0F) - m1
                y[l + 32] = d2 * Float(packed >> 4) - m2
            }
        }
    }

    static func q6_K(_ block: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(block, 208)
        for half128 in 0..<2 {
            let ql = block + 64 * half128, qh = block + 128 + 32 * half128
            let scales = block + 192 + 8 * half128
            let y = out + 128 * half128
            for l in 0..<32 {
                let group = l / 16
                let low0 = byte(ql, l), low32 = byte(ql, l + 32), high = byte(qh, l)
                let q1 = Int((low0 & 0x0F) | ((high & 3) << 4)) - 32
                let q2 = Int((low32 & 0x0F) | (((high >> 2) & 3) << 4)) - 32
                let q3 = Int((low0 >> 4) | (((high >> 4) & 3) << 4)) - 32
                let q4 = Int((low32 >> 4) | (((high >> 6) & 3) << 4)) - 32
                func scale(_ k: Int) -> Float { Float(Int8(bitPattern: byte(scales, k))) }
                y[l] = d * scale(group) * Float(q1)
                y[l + 32] = d * scale(group + 2) * Float(q2)
                y[l + 64] = d * scale(group + 4) * Float(q3)
                y[l + 96] = d * scale(group + 6) * Float(q4)
            }
        }
    }
}
