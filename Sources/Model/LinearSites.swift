/// The job a linear layer does in a transformer block that every family has, so that a suite's
/// `target_modules: [query, value]` means the same layers on a BERT encoder (`attention.self.query`)
/// and on a Llama decoder (`self_attn.q_proj`). Layers without a counterpart (BERT's
/// `intermediate.dense`, Llama's `gate_proj`) have no role and are named only by their own names.
public enum LinearRole: String, CaseIterable, Sendable {
    case query, key, value
    case attentionOutput = "attention.output.dense"
}

/// One linear layer of a block that adapters (LoRA, QLoRA) may attach to, as Hugging Face names
/// it. A backbone lists its sites once (`LinearSiteTable`); parsing a suite's target names,
/// naming an adapter's tensors for PEFT, and (in each backbone) loading the base weight read that
/// one list.
public struct LinearSite: Hashable, Sendable {
    /// The name PEFT's `target_modules` uses for it and evalharness writes there (`q_proj`, `query`).
    public let name: String
    /// The module's path below a layer's prefix (`self_attn.q_proj`, `attention.self.query`).
    public let modulePath: String
    public let role: LinearRole?
    /// (out, in) of the weight, PyTorch's `[out_features, in_features]`.
    public let out: Int, inFeatures: Int

    public init(name: String, modulePath: String, role: LinearRole?, out: Int, in inFeatures: Int) {
        self.name = name; self.modulePath = modulePath; self.role = role; self.out = out; self.inFeatures = inFeatures
    }
}

/// A backbone's adaptable linear layers: the same sites in each block, and where a
/// block's modules sit in Hugging Face's model. Written once per family (`BertConfig.linearSites`,
/// `LlamaConfig.linearSites`), read by both families' LoRA and by their weight loaders.
public struct LinearSiteTable: Sendable, Equatable {
    /// The family, as messages name it ("a BERT encoder").
    public let family: String
    /// The backbone module's name in the task model PEFT wraps (`bert.` in
    /// BertForSequenceClassification, `model.` in LlamaForCausalLM).
    public let backbonePrefix: String
    /// Block N's path inside the backbone is `layerPath + "N."` (`encoder.layer.`, `layers.`).
    public let layerPath: String
    /// In the block's order.
    public let sites: [LinearSite]

    public init(family: String, backbonePrefix: String, layerPath: String, sites: [LinearSite]) {
        self.family = family; self.backbonePrefix = backbonePrefix; self.layerPath = layerPath; self.sites = sites
    }

    /// The site a name means: its own name, its module path, or its role's name (`query` is
    /// `q_proj` on a decoder); nil for none.
    public func site(named name: String) -> LinearSite? {
        sites.first { $0.name == name } ?? sites.first { $0.modulePath == name }
            ?? LinearRole(rawValue: name).flatMap { role in sites.first { $0.role == role } }
    }

    /// The sites a suite's `target_modules` names, in the order given and without repeats;
    /// `all-linear` alone is every site. An unknown name is an error that lists the accepted ones.
    public func sites(named names: [String]) throws(AdapterConfigurationError) -> [LinearSite] {
        if names == ["all-linear"] { return sites }
        guard !names.isEmpty else { throw AdapterConfigurationError("lora target_modules must name at least one module") }
        var out: [LinearSite] = []
        for name in names {
            guard let site = site(named: name) else {
                throw AdapterConfigurationError("unknown LoRA target module \"\(name)\" for \(family) (expected \(sites.map(\.name).joined(separator: ", ")) or all-linear)")
            }
            if !out.contains(site) { out.append(site) }
        }
        return out
    }

    /// The sites with these roles, in the order given (tests, benchmarks: `[.query, .value]`).
    public func sites(_ roles: LinearRole...) -> [LinearSite] {
        roles.compactMap { role in sites.first { $0.role == role } }
    }

    /// A site's weight in block `layer` as the backbone module names it (`encoder.layer.3.attention.self.query.weight`:
    /// how a BERT checkpoint without a head stores it).
    public func backboneWeightName(layer: Int, _ site: LinearSite) -> String {
        "\(layerPath)\(layer).\(site.modulePath).weight"
    }

    /// A site's weight in block `layer` as the task model's state dict names it (`model.layers.3.self_attn.q_proj.weight`).
    public func weightName(layer: Int, _ site: LinearSite) -> String {
        backbonePrefix + backboneWeightName(layer: layer, site)
    }

    /// The name PEFT saves a LoRA factor under (`part` "A" or "B") in `adapter_model.safetensors`.
    public func loraTensorName(layer: Int, _ site: LinearSite, _ part: Character) -> String {
        "base_model.model.\(backbonePrefix)\(layerPath)\(layer).\(site.modulePath).lora_\(part).weight"
    }
}

/// A configuration a suite or CLI gave that cannot be used; the message names the field.
public struct AdapterConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
