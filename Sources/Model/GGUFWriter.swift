import Foundation

/// Writes a GGUF version 3 file of fp32 tensors (the layout `GGUFFile` reads): magic, version,
/// counts; the metadata (string and float32 values: what an adapter file needs); the tensor
/// table (dimensions fastest first, type F32, offsets relative to the data section, each a
/// multiple of the alignment); the data section from the next multiple of 32.
public enum GGUFWriter {
    public enum Value {
        case string(String)
        case float32(Float)
    }

    public struct Tensor {
        public let name: String
        /// Row-major shape (slowest first), as numpy gives it; stored reversed (ne0 first).
        public let shape: [Int]
        public let values: [Float]
        public init(name: String, shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count, "\(name): \(values.count) values for shape \(shape)")
            self.name = name; self.shape = shape; self.values = values
        }
    }

    static let alignment = 32

    /// The file's bytes.
    public static func encode(metadata: [(key: String, value: Value)], tensors: [Tensor]) -> Data {
        var out = Data()
        func u32(_ x: UInt32) { withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ x: UInt64) { withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: s.utf8) }
        func pad() { while out.count % alignment != 0 { out.append(0) } }
        out.append(contentsOf: "GGUF".utf8)
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, value) in metadata {
            string(key)
            switch value {
            case .string(let text): u32(8); string(text)
            case .float32(let x): u32(6); u32(x.bitPattern)
            }
        }
        var offset = 0
        for tensor in tensors {
            string(tensor.name)
            u32(UInt32(tensor.shape.count))
            for dimension in tensor.shape.reversed() { u64(UInt64(dimension)) }
            u32(0)  // GGML_TYPE_F32
            u64(UInt64(offset))
            offset += (tensor.values.count * 4 + alignment - 1) / alignment * alignment
        }
        pad()
        for tensor in tensors {
            for value in tensor.values { u32(value.bitPattern) }
            pad()
        }
        return out
    }
}
