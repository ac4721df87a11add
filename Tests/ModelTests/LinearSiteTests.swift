import Model
import Suites
import XCTest

/// The one table of adaptable linear layers per backbone: what suite names mean on each family,
/// and the Hugging Face / PEFT names loading and export read from it.
final class LinearSiteTests: XCTestCase {
    let bert = BertConfig(hiddenSize: 8, numHiddenLayers: 2, intermediateSize: 16).linearSites
    let llama = LlamaConfig(vocabSize: 64, hiddenSize: 16, intermediateSize: 40, layers: 3, heads: 4, kvHeads: 2, headDim: 4,
                            ropeTheta: 10_000, rmsNormEps: 1e-5, contextLength: 32, tiedEmbeddings: true).linearSites

    func testEachFamilyListsItsLayersWithShapes() {
        XCTAssertEqual(bert.sites.map(\.name), ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"])
        XCTAssertEqual(bert.sites.map { [$0.out, $0.inFeatures] }, [[8, 8], [8, 8], [8, 8], [8, 8], [16, 8], [8, 16]])
        XCTAssertEqual(llama.sites.map(\.name), ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
        // 4 query heads and 2 key/value heads of 4: grouped-query shapes.
        XCTAssertEqual(llama.sites.map { [$0.out, $0.inFeatures] }, [[16, 16], [8, 16], [8, 16], [16, 16], [40, 16], [40, 16], [16, 40]])
    }

    func testNamesMeanTheSameRoleOnBothFamilies() throws {
        XCTAssertEqual(try bert.sites(named: ["query", "value"]).map(\.modulePath), ["attention.self.query", "attention.self.value"])
        XCTAssertEqual(try llama.sites(named: ["query", "value"]).map(\.name), ["q_proj", "v_proj"])
        XCTAssertEqual(try llama.sites(named: ["attention.output.dense", "self_attn.k_proj", "q_proj", "query"]).map(\.name),
                       ["o_proj", "k_proj", "q_proj"], "module paths and roles resolve; a repeat is dropped")
        XCTAssertEqual(try bert.sites(named: ["attention.self.key"]).map(\.name), ["key"])
        XCTAssertEqual(try bert.sites(named: ["all-linear"]).count, 6)
        XCTAssertEqual(try llama.sites(named: ["all-linear"]).count, 7)
        XCTAssertEqual(llama.sites(.query, .value).map(\.name), ["q_proj", "v_proj"])
    }

    func testUnknownNamesAreRefusedWithWhatIsAccepted() {
        XCTAssertThrowsError(try llama.sites(named: ["intermediate.dense"])) { error in
            XCTAssertEqual((error as? AdapterConfigurationError)?.description,
                           "unknown LoRA target module \"intermediate.dense\" for a Llama decoder (expected q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj or all-linear)")
        }
        XCTAssertThrowsError(try bert.sites(named: ["q_proj"]))
        XCTAssertThrowsError(try bert.sites(named: []))
    }

    func testHuggingFaceAndPEFTNames() {
        let query = bert.sites[0], down = llama.sites[6]
        XCTAssertEqual(bert.backboneWeightName(layer: 1, query), "encoder.layer.1.attention.self.query.weight")
        XCTAssertEqual(bert.weightName(layer: 1, query), "bert.encoder.layer.1.attention.self.query.weight")
        XCTAssertEqual(bert.loraTensorName(layer: 1, query, "A"), "base_model.model.bert.encoder.layer.1.attention.self.query.lora_A.weight")
        XCTAssertEqual(llama.weightName(layer: 2, down), "model.layers.2.mlp.down_proj.weight")
        XCTAssertEqual(llama.loraTensorName(layer: 2, down, "B"), "base_model.model.model.layers.2.mlp.down_proj.lora_B.weight")
    }

    /// The encoder's loader reads its linear weights by the table's names, at the rows of the
    /// fused query/key/value block the table's location gives.
    func testEncoderLocationsMatchTheFusedLayout() {
        let config = BertConfig(hiddenSize: 8, numHiddenLayers: 2, intermediateSize: 16)
        let layout = EncoderParameterLayout(config: config)
        XCTAssertEqual(config.linearSites.sites.map { layout.location(of: $0).rowOffset }, [0, 8, 16, 0, 0, 0])
        XCTAssertEqual(config.linearSites.sites.map { layout.location(of: $0).tensor },
                       [.qkvWeight, .qkvWeight, .qkvWeight, .attentionOutputWeight, .intermediateWeight, .outputWeight])
    }
}


/// The suite parser checks `target_modules` at parse time, with the line, before any model is
/// loaded, from its own list of names (Suites does not depend on Model). This pins that list to
/// the backbones' tables: every name, module path and role either table accepts parses.
final class SuiteTargetNamesTests: XCTestCase {
    func testTheParserAcceptsEveryNameTheSiteTablesAccept() throws {
        let tables = [BertConfig().linearSites,
                      LlamaConfig(vocabSize: 64, hiddenSize: 16, intermediateSize: 40, layers: 1, heads: 4, kvHeads: 2, headDim: 4,
                                  ropeTheta: 10_000, rmsNormEps: 1e-5, contextLength: 32, tiedEmbeddings: true).linearSites]
        let names = Set(tables.flatMap { $0.sites.flatMap { [$0.name, $0.modulePath] } } + LinearRole.allCases.map(\.rawValue))
        for name in names.sorted() {
            let yaml = """
            name: t
            model: {path: m}
            task: {train: a.jsonl, validation: b.jsonl, test: c.jsonl, labels: [neg, pos]}
            candidates:
              - {name: lora, method: lora, target_modules: [\(name)]}
            """
            XCTAssertNoThrow(try SuiteSpec.parse(yaml: yaml, path: "suites/x.yaml"), name)
        }
    }
}
