/// The report's whole style sheet, inlined: system fonts only (no web font, no URL), laid out for
/// a laptop screen, and a print style that keeps tables and charts whole on a page.
enum HTMLStyle {
    static let css = """
    :root {
      --fg: #1f2430; --muted: #5d6675; --border: #dde2ea; --panel: #f6f8fb; --accent: #0b5cad;
      --pass: #17743a; --pass-bg: #e8f5ed; --fail: #b3261e; --fail-bg: #fdeceb;
      --error: #8a4f00; --error-bg: #fff3df; --skip: #5d6675; --skip-bg: #eef0f4;
    }
    * { box-sizing: border-box; }
    html { -webkit-text-size-adjust: 100%; }
    body { margin: 0; color: var(--fg); background: #fff;
      font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
    main { max-width: 1280px; margin: 0 auto; padding: 28px 36px 56px; }
    header.page { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 18px; }
    h1 { font-size: 24px; margin: 0; letter-spacing: -0.01em; }
    h1 .suite { color: var(--accent); }
    .subtitle { color: var(--muted); margin: 4px 0 0; }
    h2 { font-size: 18px; margin: 36px 0 6px; padding-bottom: 6px; border-bottom: 2px solid var(--border); }
    h3 { font-size: 14px; margin: 0 0 6px; }
    p.lead, p.note { color: var(--muted); margin: 4px 0 12px; max-width: 80ch; }
    code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12px; }
    nav.toc { margin: 16px 0 0; display: flex; flex-wrap: wrap; gap: 6px; }
    nav.toc a { color: var(--accent); text-decoration: none; border: 1px solid var(--border); border-radius: 999px;
      padding: 2px 10px; font-size: 12.5px; }
    nav.toc a:hover { background: var(--panel); }

    .banner { margin: 20px 0 8px; padding: 16px 20px; border-radius: 10px; border: 1px solid; border-left-width: 8px; }
    .banner.passed { background: var(--pass-bg); border-color: var(--pass); }
    .banner.failed { background: var(--fail-bg); border-color: var(--fail); }
    .banner.error { background: var(--error-bg); border-color: var(--error); }
    .banner .headline { font-size: 20px; font-weight: 700; margin: 0; }
    .banner.passed .headline { color: var(--pass); }
    .banner.failed .headline { color: var(--fail); }
    .banner.error .headline { color: var(--error); }
    .banner .counts { margin: 2px 0 0; color: var(--fg); }
    .banner ul { margin: 10px 0 0; padding-left: 0; list-style: none; }
    .banner li { margin: 4px 0; }
    .banner li .what { font-weight: 600; }

    .badge { display: inline-block; white-space: nowrap; font-weight: 600; font-size: 12px; padding: 1px 8px;
      border-radius: 999px; border: 1px solid; }
    .badge.passed, .badge.ok { color: var(--pass); background: var(--pass-bg); border-color: #9fd3b1; }
    .badge.failed { color: var(--fail); background: var(--fail-bg); border-color: #f0aaa5; }
    .badge.error { color: var(--error); background: var(--error-bg); border-color: #e8c084; }
    .badge.skipped { color: var(--skip); background: var(--skip-bg); border-color: #cdd2db; }
    .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: 0; }

    .table-wrap { overflow-x: auto; margin: 8px 0 4px; }
    table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
    th, td { padding: 6px 9px; border-bottom: 1px solid var(--border); text-align: left; vertical-align: top; }
    thead th { font-size: 12px; color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--border);
      vertical-align: bottom; }
    td.num, th.num { text-align: right; white-space: nowrap; }
    /* The seeds' spread under a value may wrap: with several seeds it is the widest line of a table. */
    td.num .sub.spread { white-space: normal; min-width: 8.5em; }
    thead th.num { white-space: normal; }
    td.ci { color: var(--muted); white-space: nowrap; text-align: right; font-size: 12.5px; }
    td.message { min-width: 260px; }
    td.name { font-weight: 600; white-space: nowrap; }
    td.name.long { white-space: normal; overflow-wrap: anywhere; min-width: 12em; }
    tr.failed-run td { background: #fffaf0; }
    .sub { display: block; color: var(--muted); font-size: 12px; font-weight: 400; }
    .warning, .sub.warning { color: #9a5b00; }
    ul.warnings { list-style: none; padding: 0; }
    ul.warnings li { margin: 4px 0; }
    table.per-class th.label, table.splits th.label { white-space: nowrap; text-align: left; }
    table.splits { width: auto; }
    table.splits tr.total th, table.splits tr.total td { font-weight: 700; border-top: 2px solid var(--border); }
    details > summary { cursor: pointer; color: var(--muted); margin: 6px 0; }
    .better { color: var(--pass); }
    .worse { color: var(--fail); }

    .grid { display: grid; gap: 16px; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); margin-top: 10px; }
    .grid.wide { grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); }
    figure { margin: 0; border: 1px solid var(--border); border-radius: 10px; padding: 12px 14px; background: #fff;
      break-inside: avoid; }
    figcaption { font-size: 12.5px; color: var(--muted); margin-top: 6px; }
    figure.scatter { max-width: 760px; }
    figure h3 { display: flex; align-items: center; gap: 8px; }
    svg.chart { display: block; width: 100%; height: auto; max-width: 100%; }
    svg.chart text { font-family: inherit; font-size: 11px; fill: var(--fg); }
    svg.chart text.tick { fill: var(--muted); font-size: 10.5px; }
    svg.chart text.axis-label { fill: var(--muted); font-size: 11.5px; }
    svg.chart text.note { fill: var(--muted); font-size: 10.5px; font-style: italic; }
    svg.chart text.value { font-size: 11px; font-weight: 600; }
    svg.chart text.row-label { font-size: 12px; }
    svg.chart text.point-label { font-size: 12px; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
    svg.chart .grid { stroke: #e9edf2; stroke-width: 1; }
    svg.chart .axis { stroke: #9aa3b2; stroke-width: 1; }
    svg.chart .frame { fill: none; stroke: #c9d0db; }
    svg.chart .zero { stroke: #6b7383; stroke-width: 1.2; }
    svg.chart .marker { stroke: #6b7383; stroke-width: 1; stroke-dasharray: 2 3; }
    svg.chart .threshold { stroke: #333; stroke-width: 1.2; stroke-dasharray: 4 3; }
    svg.chart text.tick.current { fill: var(--fg); font-weight: 700; }
    svg.chart text.tick.failed { fill: #b3261e; }
    .trend-legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 0 0 4px; font-size: 13px; }
    .trend-legend .key { display: inline-flex; align-items: center; gap: 6px; }
    details.trend-values summary { cursor: pointer; color: var(--muted); font-size: 13px; }
    details.trend-values tr.current td { font-weight: 600; }
    svg.chart .whisker { stroke: #1f2430; stroke-width: 1.5; }

    /* Confusion matrices. A figure wider than a grid card takes the whole grid row; nothing is
       wider than its card. Labels wrap only between words, never inside one. */
    .grid > figure.full-row { grid-column: 1 / -1; }
    figure.matrix { min-width: 0; }
    .confusion-wrap { max-width: 100%; overflow-x: auto; }
    table.confusion { width: auto; margin-top: 4px; }
    table.confusion th, table.confusion td { border: 1px solid #fff; text-align: center; padding: 6px 8px; min-width: 64px; }
    table.confusion th { word-break: keep-all; overflow-wrap: normal; hyphens: manual; }
    table.confusion thead th { border-bottom: 1px solid #fff; vertical-align: bottom; }
    table.confusion th.axis { color: var(--muted); font-size: 11px; font-weight: 600; text-align: center; }
    table.confusion tbody th { text-align: right; font-weight: 600; font-size: 12px; vertical-align: middle; }
    table.confusion td .count { font-weight: 700; display: block; }
    table.confusion td .share { font-size: 11px; display: block; white-space: nowrap; }
    figure.vertical-heads table.confusion thead th:not(.axis) { writing-mode: vertical-rl; transform: rotate(180deg);
      white-space: nowrap; text-align: left; vertical-align: bottom; min-width: 0; padding: 8px 4px; }

    .heatmap-wrap { font-size: 12px; }
    table.heatmap { width: 100%; table-layout: fixed; border-collapse: collapse; margin-top: 6px; font-size: 12px; }
    table.heatmap th, table.heatmap td { border: 1px solid #fff; padding: 0; height: 22px; line-height: 1.1;
      min-width: 0; text-align: center; vertical-align: middle; overflow: hidden; }
    table.heatmap thead th { font-size: 10px; font-weight: 600; color: var(--muted); border-bottom: 1px solid #fff;
      white-space: nowrap; vertical-align: bottom; padding-bottom: 2px; }
    table.heatmap th.axis { text-align: right; padding-right: 6px; font-size: 11px; }
    table.heatmap th.label { text-align: right; font-weight: 400; color: var(--fg); padding: 1px 6px 1px 0; white-space: normal;
      word-break: keep-all; overflow-wrap: normal; hyphens: manual; text-overflow: ellipsis; }
    table.heatmap th.index { font-size: 10px; font-weight: 600; color: var(--muted); text-align: right; padding-right: 4px;
      white-space: nowrap; }
    table.heatmap td { font-size: 0; font-variant-numeric: tabular-nums; color: #1f2430; white-space: nowrap; }
    table.heatmap.counts td { font-size: 10px; }
    table.heatmap td.dark { color: #fff; }
    table.heatmap td.none { background: #eef1f5; }
    table.heatmap td.diag { box-shadow: inset 0 0 0 1px rgba(0, 114, 178, 0.55); }
    table.heatmap tbody tr:hover th { color: var(--accent); }

    .heat-legend { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 6px 22px; margin: 2px 0 4px;
      font-size: 11.5px; color: var(--muted); }
    .heat-legend .key { display: inline-flex; align-items: flex-start; gap: 8px; }
    .heat-legend .name { white-space: nowrap; line-height: 12px; }
    .heat-legend .scale { display: inline-block; width: 150px; }
    .heat-legend .ramp { display: block; height: 12px; border: 1px solid #c9d0db; }
    .heat-legend .ramp.correct { background: linear-gradient(to right, rgba(0, 114, 178, 0.1), rgba(0, 114, 178, 0.9)); }
    .heat-legend .ramp.confused { background: linear-gradient(to right, rgba(213, 94, 0, 0.1), rgba(213, 94, 0, 0.9)); }
    .heat-legend .ticks { display: block; position: relative; height: 14px; font-size: 10.5px; white-space: nowrap; }
    .heat-legend .ticks span { position: absolute; top: 0; }
    .heat-legend .ticks span:nth-child(1) { left: 0; }
    .heat-legend .ticks span:nth-child(2) { left: 50%; transform: translateX(-50%); }
    .heat-legend .ticks span:nth-child(3) { right: 0; }
    .heat-legend .swatch-none { display: inline-block; width: 18px; height: 12px; background: #eef1f5; border: 1px solid #c9d0db; }
    .heat-legend .of { align-self: flex-start; line-height: 12px; }

    dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0; }
    dl.facts dt { color: var(--muted); }
    dl.facts dd { margin: 0; word-break: break-all; }
    footer { margin-top: 40px; padding-top: 12px; border-top: 2px solid var(--border); color: var(--muted); font-size: 12.5px; }
    footer h2 { border: none; margin-top: 0; font-size: 15px; color: var(--fg); }
    footer table { font-size: 12px; }

    @media (max-width: 760px) {
      main { padding: 16px; }
      .grid, .grid.wide { grid-template-columns: 1fr; }
    }
    @media print {
      @page { margin: 14mm; }
      * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
      body { font-size: 10.5px; }
      main { max-width: none; padding: 0; }
      nav.toc { display: none; }
      h2, h3, p.lead { break-after: avoid; }
      figure.scatter { max-width: 75% !important; }
      h2 { margin-top: 20px; }
      figcaption { font-size: 8.5px; }
      figure { padding: 8px; }
      figure, .banner, tr, table.confusion { break-inside: avoid; }
      .table-wrap { overflow: visible; }
      table { font-size: 9.5px; }
      th, td { padding: 3px 5px; }
      thead th, .sub, td.ci, code, .mono { font-size: 8.5px; }
      td.message { min-width: 0; }
      table.confusion th, table.confusion td { min-width: 48px; padding: 4px; }
      table.confusion tbody th { font-size: 9px; }
      table.confusion th.axis { font-size: 8px; }
      table.confusion td .share { font-size: 8px; }
      .confusion-wrap { overflow: visible; }
      figure.matrix { break-inside: avoid; }
      figure.vertical-heads-print table.confusion thead th:not(.axis) { writing-mode: vertical-rl; transform: rotate(180deg);
        white-space: nowrap; text-align: left; vertical-align: bottom; min-width: 0; padding: 6px 3px; }
      .heatmap-wrap, table.heatmap { font-size: 8px; }
      table.heatmap th, table.heatmap td { height: 12px; }
      table.heatmap thead th, table.heatmap th.index { font-size: 6.5px; }
      table.heatmap th.axis { font-size: 7px; }
      table.heatmap td, table.heatmap.counts td { font-size: 0; }
      table.heatmap.print-counts td { font-size: 6.5px; }
      .heat-legend { font-size: 8.5px; gap: 4px 16px; }
      .heat-legend .ticks { font-size: 8px; height: 11px; }
      .heat-legend .scale { width: 110px; }
      .heat-legend .ramp { height: 9px; }
      .grid { grid-template-columns: repeat(3, 1fr); gap: 10px; }
      .grid.wide { grid-template-columns: 1fr 1fr; }
      a { color: inherit; text-decoration: none; }
    }
    """
}
