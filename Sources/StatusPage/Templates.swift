// The status page's templates (docs/status-page.md). Mustache escapes every `{{value}}` for HTML
// (`< > & " '`), so values from AWS, the config or the store are text wherever they land; no
// template uses the unescaped `{{{…}}}` or `{{&…}}` forms (a test checks). No script, no external
// asset: the stylesheet is inline and the timeline is inline SVG.
enum Templates {
    static let head = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}}</title>
        <style>
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0; color: #1d2430; background: #f4f6f9; }
        header { background: #1d2b3a; color: #fff; padding: 14px 28px; }
        header h1 { font-size: 19px; margin: 0; }
        header h1 a { color: #fff; text-decoration: none; }
        header p { margin: 4px 0 0; color: #b8c4d2; font-size: 13px; }
        main { padding: 18px 28px 40px; max-width: 1180px; }
        h2 { font-size: 16px; margin: 26px 0 8px; }
        table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #dde3ea; }
        th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid #e7ebf0; vertical-align: top; }
        th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #5b6675; background: #f8fafc; }
        tr.attention td:first-child { box-shadow: inset 4px 0 0 #c73636; }
        a { color: #1f5fbf; }
        code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
        .label { font-weight: 600; }
        .sub { color: #5b6675; font-size: 12.5px; }
        .badge { display: inline-block; padding: 1px 9px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; letter-spacing: .02em; white-space: nowrap; }
        .chip { display: inline-block; margin: 0 4px 2px 0; padding: 0 7px; border-radius: 9px; border: 1px solid #cfd6df; font-size: 12px; white-space: nowrap; }
        .chip i { display: inline-block; width: 8px; height: 8px; border-radius: 4px; margin-right: 4px; }
        .marker { display: inline-block; padding: 1px 7px; border-radius: 3px; font-size: 12px; font-weight: 600; margin-right: 4px; }
        .marker.failing, .marker.notfound { background: #fde2e2; color: #9d1c1c; border: 1px solid #f3b4b4; }
        .marker.errors, .marker.stalled { background: #fff1d6; color: #7a4b00; border: 1px solid #f0d08a; }
        .marker.done { background: #e3f3e6; color: #1f6b2e; border: 1px solid #b9dfc1; }
        .legend span { margin-right: 14px; white-space: nowrap; }
        .legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
        .timeline { background: #fff; border: 1px solid #dde3ea; padding: 8px; overflow-x: auto; }
        .delivery { white-space: nowrap; font-size: 12.5px; }
        .delivery.delivered { color: #1f6b2e; }
        .delivery.pending { color: #7a4b00; }
        .delivery.failed { color: #9d1c1c; }
        .empty { color: #5b6675; font-style: italic; padding: 14px; background: #fff; border: 1px solid #dde3ea; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; background: #fff; border: 1px solid #dde3ea; padding: 10px 14px; }
        dl.facts dt { color: #5b6675; }
        dl.facts dd { margin: 0; }
        {{#palette}}.c{{index}} { background: {{color}}; }
        {{/palette}}
        </style>
        </head>
        """

    static let index = """
        {{> head}}
        <body>
        <header><h1><a href="/">outpostwatch</a></h1><p>{{summary}} · as of <time datetime="{{nowISO}}">{{nowISO}}</time></p></header>
        <main>
        {{^hasRows}}<p class="empty">No watched orders yet.</p>{{/hasRows}}
        {{#hasRows}}
        <table class="orders">
        <thead><tr><th>Order</th>{{#showAccount}}<th>Account</th>{{/showAccount}}<th>Status</th><th>Line items</th><th>Last change</th><th>Last poll</th><th>Attention</th></tr></thead>
        <tbody>
        {{#rows}}
        <tr class="{{rowClass}}" id="row-{{orderId}}">
        <td><a href="{{href}}">{{#hasLabel}}<span class="label">{{label}}</span><br>{{/hasLabel}}<code>{{orderId}}</code></a>{{#hasOutpost}}<div class="sub">outpost <code>{{outpostId}}</code></div>{{/hasOutpost}}</td>
        {{#showAccount}}<td class="account">{{account}}</td>{{/showAccount}}
        <td><span class="badge c{{colorIndex}}">{{status}}</span></td>
        <td>{{#items}}<span class="chip"><i class="c{{colorIndex}}"></i>{{count}} {{status}}</span>{{/items}}{{^items}}<span class="sub">none</span>{{/items}}</td>
        <td><time title="{{changeISO}}">{{changeAgo}}</time></td>
        <td>{{pollAgo}}</td>
        <td>{{#markers}}<span class="marker {{kind}}" title="{{title}}">{{text}}</span>{{/markers}}</td>
        </tr>
        {{/rows}}
        </tbody>
        </table>
        {{/hasRows}}
        </main>
        </body>
        </html>
        """

    static let order = """
        {{> head}}
        <body>
        <header><h1><a href="/">outpostwatch</a> / {{heading}}</h1><p><code>{{orderId}}</code> · as of <time datetime="{{nowISO}}">{{nowISO}}</time></p></header>
        <main>
        <dl class="facts">
        <dt>Status</dt><dd><span class="badge c{{colorIndex}}">{{status}}</span> {{#notFound}}<span class="marker notfound">not found</span>{{/notFound}}{{#failing}}<span class="marker failing">failing</span>{{/failing}}</dd>
        {{#label}}<dt>Label</dt><dd>{{label}}</dd>{{/label}}
        <dt>Account</dt><dd class="account">{{account}}{{#region}} <span class="sub">({{region}})</span>{{/region}}</dd>
        {{#outpostId}}<dt>Outpost</dt><dd><code>{{outpostId}}</code></dd>{{/outpostId}}
        {{#quoteId}}<dt>Quote id</dt><dd><code>{{quoteId}}</code></dd>{{/quoteId}}
        {{#quoteOptionId}}<dt>Quote option id</dt><dd><code>{{quoteOptionId}}</code></dd>{{/quoteOptionId}}
        <dt>Last change</dt><dd>{{#change}}<time datetime="{{iso}}" title="{{iso}}">{{ago}}</time> ({{iso}}){{/change}}{{^change}}never{{/change}}</dd>
        <dt>Last poll</dt><dd>{{#poll}}<time datetime="{{iso}}" title="{{iso}}">{{ago}}</time>{{/poll}}{{^poll}}never{{/poll}}{{#lastError}} · last error: {{lastError}}{{/lastError}}</dd>
        </dl>
        <h2>Timeline</h2>
        {{#svg}}
        <div class="timeline">
        <svg xmlns="http://www.w3.org/2000/svg" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}" role="img" aria-label="Timeline of {{orderId}}" font-family="DejaVu Sans, sans-serif" font-size="11">
        {{#ticks}}<line x1="{{x}}" y1="18" x2="{{x}}" y2="{{bottom}}" stroke="#e3e8ee"/><text x="{{x}}" y="12" text-anchor="middle" fill="#5b6675">{{label}}</text>
        {{/ticks}}
        {{#lanes}}<text x="6" y="{{textY}}" fill="#1d2430" font-weight="600">{{title}}</text>
        {{#segments}}<g class="segment" data-status="{{status}}"><rect x="{{x}}" y="{{y}}" width="{{width}}" height="{{height}}" rx="3" fill="{{color}}"><title>{{tooltip}}</title></rect>{{#labelFits}}<text x="{{textX}}" y="{{textY}}" fill="#fff">{{status}}{{#dateFits}} · {{since}}{{/dateFits}}</text>{{/labelFits}}</g>
        {{/segments}}
        {{/lanes}}
        <line x1="{{nowX}}" y1="18" x2="{{nowX}}" y2="{{bottom}}" stroke="#c73636" stroke-width="2" stroke-dasharray="4 3"/><text x="{{nowX}}" y="{{nowLabelY}}" text-anchor="middle" fill="#c73636" font-weight="600">now</text>
        </svg>
        <div class="legend">{{#legend}}<span><i class="c{{colorIndex}}"></i>{{status}}</span>{{/legend}}</div>
        </div>
        {{/svg}}
        {{^svg}}<p class="empty">No history yet: the order has not been polled successfully.</p>{{/svg}}
        <h2>Line items</h2>
        {{^hasLineItems}}<p class="empty">No line items.</p>{{/hasLineItems}}
        {{#hasLineItems}}
        <table class="line-items">
        <thead><tr><th>Line item</th><th>Status</th><th>Shipment</th><th>Assets and MAC addresses</th></tr></thead>
        <tbody>
        {{#lineItems}}
        <tr class="line-item">
        <td><code>{{id}}</code>{{#catalogItemId}}<div class="sub">catalog item {{catalogItemId}}{{#quantity}} × {{quantity}}{{/quantity}}</div>{{/catalogItemId}}</td>
        <td><span class="badge c{{colorIndex}}">{{status}}</span></td>
        <td>{{#carrier}}{{carrier}} {{/carrier}}{{#trackingUrl}}<a class="tracking" href="{{trackingUrl}}" rel="noreferrer">{{trackingNumber}}</a>{{/trackingUrl}}{{^trackingUrl}}{{#trackingNumber}}<span class="mono">{{trackingNumber}}</span>{{/trackingNumber}}{{/trackingUrl}}{{^carrier}}{{^trackingNumber}}<span class="sub">not shipped</span>{{/trackingNumber}}{{/carrier}}</td>
        <td>{{#assets}}<div><code>{{assetId}}</code>{{#macs}} <span class="mono">{{.}}</span>{{/macs}}</div>{{/assets}}{{^assets}}<span class="sub">none yet</span>{{/assets}}</td>
        </tr>
        {{/lineItems}}
        </tbody>
        </table>
        {{/hasLineItems}}
        <h2>Events (newest first)</h2>
        {{^hasEvents}}<p class="empty">No events.</p>{{/hasEvents}}
        {{#hasEvents}}
        <table class="events">
        <thead><tr><th>#</th><th>When</th><th>Event</th><th>Change</th><th>Deliveries</th></tr></thead>
        <tbody>
        {{#events}}
        <tr class="event" id="{{id}}">
        <td>{{sequence}}</td>
        <td><time datetime="{{iso}}" title="{{iso}}">{{ago}}</time></td>
        <td><code>{{type}}</code>{{#lineItemId}}<div class="sub">line item <code>{{lineItemId}}</code></div>{{/lineItemId}}</td>
        <td>{{from}} → {{to}}{{#error}}<div class="sub">{{error}}</div>{{/error}}</td>
        <td>{{#deliveries}}<div class="delivery {{state}}"><b>{{sink}}</b>: {{detail}}</div>{{/deliveries}}{{^deliveries}}<span class="sub">no delivery</span>{{/deliveries}}</td>
        </tr>
        {{/events}}
        </tbody>
        </table>
        {{/hasEvents}}
        </main>
        </body>
        </html>
        """
}

extension Templates {
    static let notFound = """
        {{> head}}
        <body>
        <header><h1><a href="/">outpostwatch</a></h1><p>as of <time datetime="{{nowISO}}">{{nowISO}}</time></p></header>
        <main><p class="empty">No watched order <code>{{orderId}}</code>. <a href="/">All orders</a></p></main>
        </body>
        </html>
        """
}
