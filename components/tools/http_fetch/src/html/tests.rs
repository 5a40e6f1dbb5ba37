//! The conversion as a reader sees it: whole fragments in, Markdown out.

use super::*;

const PAGE_URL: &str = "https://example.com/docs/guide/intro.html";

fn md(html: &str) -> String {
    to_markdown(html, PAGE_URL).markdown
}

/// A page with a bit of everything, and the usual clutter around it.
const SAMPLE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>  The &amp; Guide
  </title>
  <style>body { color: red } p > a { x: "<p>" }</style>
  <script>var s = "<h1>not a heading</h1>"; if (a < b && c > d) {}</script>
  <link rel="stylesheet" href="/s.css">
</head>
<body>
  <nav><ul><li><a href="/">Home</a></li><li><a href="/docs">Docs</a></li></ul></nav>
  <main>
    <h1>Getting   started</h1>
    <p>Install the <em>tool</em> with <code>cargo install x</code>, then read
       <a href="setup.html">the setup page</a> and <a href="../api/#top">the API</a>.</p>
    <h2 id="steps">Steps <a href="#steps">#</a></h2>
    <ol>
      <li>Download &mdash; it&#8217;s free</li>
      <li>Configure:
        <ul>
          <li>edit <strong>config.toml</strong></li>
          <li>set the <i>key</i></li>
        </ul>
      </li>
      <li>Run</li>
    </ol>
    <pre><code class="language-rust">fn main() {
    println!("&lt;hi&gt;");
}
</code></pre>
    <blockquote><p>Quoted wisdom.</p><p>Second line.</p></blockquote>
    <table>
      <tr><th>Name</th><th>Value</th></tr>
      <tr><td>a</td><td> 1 </td></tr>
    </table>
    <p>An image: <img src="/img/logo.png" alt="the logo"> and one without alt <img src="x.png">.</p>
    <svg viewBox="0 0 10 10"><title>icon</title><path d="M0 0"/></svg>
    <noscript>Enable JavaScript</noscript>
    <div hidden>secret hidden text</div>
    <p>Line one<br>Line two</p>
  </main>
  <footer><p>&copy; 2024 Example &lt;Corp&gt;</p></footer>
  <script src="/app.js"></script>
</body>
</html>
"##;

const SAMPLE_MARKDOWN: &str = r#"# Getting started

Install the *tool* with `cargo install x`, then read [the setup page](https://example.com/docs/guide/setup.html) and [the API](https://example.com/docs/api/#top).

## Steps #

1. Download — it’s free
2. Configure:
   - edit **config.toml**
   - set the *key*
3. Run

```rust
fn main() {
    println!("<hi>");
}
```

> Quoted wisdom.
>
> Second line.

| Name | Value |
| --- | --- |
| a | 1 |

An image: ![the logo](https://example.com/img/logo.png) and one without alt .

Line one
Line two

© 2024 Example <Corp>"#;

#[test]
fn converts_a_whole_page() {
    let page = to_markdown(SAMPLE, PAGE_URL);
    assert_eq!(page.title.as_deref(), Some("The & Guide"));
    assert_eq!(page.markdown, SAMPLE_MARKDOWN, "\n{}", page.markdown);
}

#[test]
fn headings_of_every_level_stay_on_one_line() {
    assert_eq!(
        md("<h1>One</h1><h3>Three<br>lines\n here</h3><h6><b>Six</b></h6>"),
        "# One\n\n### Three lines here\n\n###### Six"
    );
    assert_eq!(
        md("<h2></h2><p>after an empty heading</p>"),
        "after an empty heading"
    );
}

#[test]
fn nested_lists_indent_under_their_item() {
    let html = "<ul><li>a<ul><li>b<ol start=\"7\"><li>c</li><li>d</ol></ul></li><li>e</ul>";
    assert_eq!(md(html), "- a\n  - b\n    7. c\n    8. d\n- e");
    // Items without end tags, text around the list.
    assert_eq!(
        md("<p>before</p><ul><li>one<li>two</ul><p>after</p>"),
        "before\n\n- one\n- two\n\nafter"
    );
}

#[test]
fn links_resolve_against_the_page_and_its_base() {
    assert_eq!(
        md(
            r#"<a href="../x?y=1">up</a> <a href="//cdn.example.net/f">cdn</a> <a href="mailto:me@example.com">mail</a>"#
        ),
        "[up](https://example.com/docs/x?y=1) [cdn](https://cdn.example.net/f) [mail](mailto:me@example.com)"
    );
    assert_eq!(
        md(r#"<head><base href="/other/"></head><a href="page">p</a>"#),
        "[p](https://example.com/other/page)"
    );
    // Anchors, script URLs and empty links keep their text only.
    assert_eq!(
        md(
            r##"<a href="#x">here</a> <a href="javascript:go()">go</a> <a href="/e"></a><a>plain</a>"##
        ),
        "here go plain"
    );
    assert_eq!(
        md(r#"<a href="/a b">spaced</a>"#),
        "[spaced](https://example.com/a%20b)"
    );
}

#[test]
fn a_link_around_blocks_closes_at_the_first_line_break() {
    assert_eq!(
        md(r#"<a href="/post"><h3>Title</h3><p>Summary</p></a>"#),
        "### [Title](https://example.com/post)\n\nSummary"
    );
    assert_eq!(
        md(r#"<a href="/i"><img alt="pic" src="/p.png"></a>"#),
        "[![pic](https://example.com/p.png)](https://example.com/i)"
    );
}

#[test]
fn entities_are_decoded_in_text_titles_and_attributes() {
    let page = to_markdown(
        r#"<title>A &lt;b&gt; &#x26; c</title><p>5 &lt; 6 &amp;&amp; caf&eacute; &nbsp;&hellip; &#128512; AT&T</p><a href="/q?a=1&amp;b=2">q</a>"#,
        PAGE_URL,
    );
    assert_eq!(page.title.as_deref(), Some("A <b> & c"));
    assert_eq!(
        page.markdown,
        "5 < 6 && café \u{a0}… 😀 AT&T\n\n[q](https://example.com/q?a=1&b=2)"
    );
}

#[test]
fn scripts_styles_and_navigation_are_dropped() {
    let html = r#"<p>keep</p><script>document.write("<p>no</p>")</script><style>.x{}</style>
        <nav><p>menu</p></nav><noscript><p>enable js</p></noscript><svg><text>chart</text></svg>
        <template><p>tpl</p></template><div aria-hidden="true">icon</div><select><option>Pick</option></select>
        <p>also keep</p>"#;
    assert_eq!(md(html), "keep\n\nalso keep");
    // An unclosed <nav> ends with its parent instead of swallowing the page.
    assert_eq!(
        md("<div><nav><a href=/>home</a></div><p>content</p>"),
        "content"
    );
    // A <head> the page never closes ends where the body starts.
    assert_eq!(md("<head><title>t</title><p>body text"), "body text");
}

#[test]
fn pre_blocks_keep_their_whitespace_in_a_fence() {
    assert_eq!(
        md("<pre>\n  indented\n\n    more  <b>bold</b>\n</pre>"),
        "```\n  indented\n\n    more  bold\n```"
    );
    assert_eq!(
        md("<pre class=\"lang-py\">a = '```'</pre>"),
        "````py\na = '```'\n````"
    );
    assert_eq!(md("<pre>  </pre><p>x</p>"), "x");
    assert_eq!(
        md("<ul><li>code:<pre>x\ny</pre></li></ul>"),
        "- code:\n\n  ```\n  x\n  y\n  ```"
    );
    // An unclosed <pre> still ends with the page.
    assert_eq!(md("<pre>tail"), "```\ntail\n```");
}

#[test]
fn inline_markup_and_whitespace() {
    assert_eq!(
        md("<p>  a <b> bold </b><i>it</i> <del>old</del> <kbd>Ctrl</kbd>\n\n  b  </p>"),
        "a **bold** *it* ~~old~~ `Ctrl` b"
    );
    assert_eq!(md("<b><b>twice</b></b><em></em>"), "**twice**");
    assert_eq!(md("<p>a</p>\n\n\n<p>b</p><br><br><p>c</p>"), "a\n\nb\n\nc");
    assert_eq!(
        md("<div>one</div><div>two</div><span>three</span>"),
        "one\ntwo\nthree"
    );
    assert_eq!(md("<hr><p>x</p><hr>"), "---\n\nx\n\n---");
}

#[test]
fn tables_become_pipe_tables() {
    assert_eq!(
        md("<table><tr><td>a<td>b<tr><td>c<p>d</p><td></table><p>after</p>"),
        "| a | b |\n| --- | --- |\n| c d |  |\n\nafter"
    );
}

#[test]
fn plain_text_and_empty_input() {
    assert_eq!(md("just text, no tags"), "just text, no tags");
    assert_eq!(md(""), "");
    assert_eq!(to_markdown("<p>x</p>", PAGE_URL).title, None);
    assert_eq!(title("<html><title> T  t </title>"), Some("T t".into()));
    assert_eq!(title("<p>no title</p>"), None);
}

#[test]
fn malformed_html_never_panics() {
    let nasty = [
        "<",
        "</",
        "<a",
        "<a href",
        "<a href=\"",
        "<!--",
        "<!",
        "<?",
        "</>",
        "&",
        "&#",
        "&#x",
        "&#xFFFFFFFFFF;",
        "<p><p><p>",
        "</p></p></div></li></td>",
        "<td>x",
        "<tr><td>",
        "<li>x",
        "<table><li>x</table>",
        "<pre><pre></pre>",
        "<title>",
        "<script>",
        "<svg><title>x",
        "<a href=x><a href=y>z</a>",
        "<ol start=-5><li>x",
        "<h7>x</h7>",
        "<b><i>x</b></i>",
        "<br/></br>",
        "<<<>>>",
        "é<é>é</é>",
        "<p\u{0}>\u{0}",
    ];
    for html in nasty {
        let _ = to_markdown(html, PAGE_URL);
        let _ = to_markdown(html, "not a url");
    }
}

#[test]
fn every_prefix_of_the_sample_converts() {
    // A truncated download ends anywhere: inside a tag, a comment, an entity,
    // a script, a multi-byte character (skipped: not a str boundary).
    let mut converted = 0;
    for end in 0..=SAMPLE.len() {
        if let Some(prefix) = SAMPLE.get(..end) {
            let page = to_markdown(prefix, PAGE_URL);
            assert!(!page.markdown.starts_with(char::is_whitespace), "{end}");
            assert!(
                !page.markdown.ends_with(char::is_whitespace),
                "{end}: {:?}",
                page.markdown
            );
            converted += 1;
        }
    }
    assert!(converted > 1500, "{converted}");
    // And every suffix: a page read from the middle.
    for start in 0..SAMPLE.len() {
        if let Some(suffix) = SAMPLE.get(start..) {
            let _ = to_markdown(suffix, PAGE_URL);
        }
    }
}

#[test]
fn deep_nesting_and_unmatched_tags_stay_cheap() {
    let deep = "<div><span>".repeat(5_000) + "bottom" + &"</span></div>".repeat(5_000);
    assert!(md(&deep).contains("bottom"));
    let unmatched = "</nothing>".repeat(50_000) + "<p>end</p>";
    assert_eq!(md(&unmatched), "end");
    let items = "<ul>".to_string() + &"<li>x".repeat(20_000) + "</ul>";
    assert_eq!(md(&items).lines().count(), 20_000);
}
