// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "evalharness",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "evalharness", targets: ["evalharness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // Outside C libraries: each enters through exactly one module.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLibXML2", path: "Sources/CLibXML2", pkgConfig: "libxml-2.0",
                       providers: [.apt(["libxml2-dev"])]),

        // Reading a user's input files, with reasons in words when they cannot be read.
        .target(name: "InputFiles"),
        // Forward/backward kernels on raw buffers; know nothing about models.
        .target(name: "Kernels", dependencies: ["COpenBLAS"]),
        // BERT WordPiece tokenizer identical to Hugging Face's BertTokenizerFast (uncased).
        .target(name: "Tokenizer", dependencies: ["InputFiles"]),
        // safetensors, config.json, the encoder built on Kernels.
        .target(name: "Model", dependencies: ["Kernels", "Tokenizer", "InputFiles"]),
        // Full, LoRA, QLoRA and prompt tuning, each plugging into the same encoder.
        .target(name: "Adapters", dependencies: ["Model", "Kernels", "Tokenizer", "COpenBLAS"]),
        // The trainer: batching, AdamW, schedules, early stopping, the methods' trainable sets.
        .target(name: "Training", dependencies: ["Adapters", "Model", "Kernels", "Tokenizer"]),
        // Metrics, confidence intervals, paired tests, gate decisions: pure computation, Foundation only.
        .target(name: "Evaluation"),
        // Suite files and data sets: YAML → SuiteSpec, JSONL/CSV/TSV readers, validation.
        .target(name: "Suites", dependencies: ["Evaluation", "InputFiles", .product(name: "Yams", package: "Yams")]),
        // JUnit XML (libxml2), the self-contained HTML report, the Markdown summary.
        .target(name: "Reports", dependencies: ["Evaluation", "CLibXML2"]),
        // Runs a suite end to end: data → candidates → measurements → comparisons → checks → RunResult.
        .target(name: "Runner", dependencies: ["Suites", "Training", "Adapters", "Model", "Kernels", "Tokenizer", "Evaluation", "COpenBLAS"]),
        // The run history: every run's metrics in a local SQLite database (GRDB), rebuilt from results.json files.
        .target(name: "History", dependencies: ["Evaluation", .product(name: "GRDB", package: "GRDB.swift")]),
        // The command-line tool: a thin mapping from flags to library types.
        .executableTarget(name: "evalharness", dependencies: [
            "Model", "Kernels", "Tokenizer", "Adapters", "Training", "Evaluation", "Suites", "Reports", "Runner", "History", "COpenBLAS",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Fixture and model locations shared by the test targets.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "Model", "TestSupport"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Kernels", "Tokenizer", "TestSupport", "Suites"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"]),
        .testTarget(name: "AdaptersTests", dependencies: ["Adapters", "Model", "Kernels"]),
        .testTarget(name: "SuitesTests", dependencies: ["Suites", "Evaluation"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Evaluation", "CLibXML2"]),
        .testTarget(name: "RunnerTests", dependencies: ["Runner", "Suites", "Evaluation", "Reports", "Model"]),
        .testTarget(name: "HistoryTests", dependencies: ["History", "Evaluation"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Adapters", "Model", "Kernels", "TestSupport"]),
    ]
)

// libFuzzer targets (Fuzz/README.md), only when EVALHARNESS_FUZZ is set: they are built with
// `-sanitize=fuzzer,address` and start libFuzzer's driver from their own `main`.
if Context.environment["EVALHARNESS_FUZZ"] != nil {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("safetensors", ["Model"]), ("config", ["Model", "Kernels"]), ("vocab", ["Tokenizer"]),
        ("suite", ["Suites"]), ("datafile", ["Suites"]), ("gguf", ["Model", "Tokenizer"]),
    ]
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/Support"))
    for (name, dependencies) in fuzzTargets {
        package.targets.append(.executableTarget(name: "fuzz-\(name)", dependencies: dependencies + ["FuzzSupport"],
                                                 path: "Fuzz/Targets/\(name)"))
    }
}

/// Targets whose release build drops Swift's runtime checks: only the kernels, whose element-wise
/// loops run over raw pointers (no bounds checks to lose) and would only shed overflow checks on
/// index arithmetic. Measured on 2026-11-29 (README, "Hostile input"): -Ounchecked everywhere,
/// in Kernels + Adapters, and nowhere gave the same `bench train` / `bench inference` speed within
/// noise, so nothing else keeps it; parsing, loading and orchestration trap on a bad index.
let uncheckedTargets: Set<String> = ["Kernels"]

// Package-wide settings in one place.
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    // AVX2 + FMA (as OpenBLAS's Haswell kernels here): without it, SIMD16 fused multiply-adds
    // become one libm call per lane. x86-64 only (the manifest is compiled for the building host):
    // an aarch64 build keeps the compiler's default CPU, which has NEON fused multiply-adds.
    #if arch(x86_64)
    settings.append(.unsafeFlags(["-target-cpu", "haswell"]))
    #endif
    if uncheckedTargets.contains(target.name) {
        settings.append(.unsafeFlags(["-Ounchecked"], .when(configuration: .release)))
    }
    target.swiftSettings = settings
}
