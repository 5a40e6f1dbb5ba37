//! What each element means to the conversion: dropped, void, a block, a
//! container that bounds an implied close.

/// Dropped with their contents: not what a reader of the page reads.
pub fn is_dropped(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "nav"
            | "noscript"
            | "svg"
            | "template"
            | "iframe"
            | "object"
            | "canvas"
            | "select"
            | "datalist"
            | "noembed"
            | "noframes"
            | "xmp"
    )
}

pub fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// Elements that may stay inside `<head>`; anything else starts the body.
pub fn belongs_in_head(name: &str) -> bool {
    matches!(
        name,
        "title" | "meta" | "link" | "style" | "script" | "base" | "noscript" | "template"
    )
}

/// Block elements that end an open `<p>` (HTML closes it for them).
pub fn closes_paragraph(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "ul"
            | "ol"
            | "dl"
            | "menu"
            | "pre"
            | "table"
            | "blockquote"
            | "hr"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "section"
            | "article"
            | "aside"
            | "header"
            | "footer"
            | "main"
            | "figure"
            | "form"
            | "fieldset"
            | "details"
            | "address"
    )
}

/// Containers an open `<p>` cannot be closed across.
pub const PARAGRAPH_SCOPE: &[&str] = &[
    "div",
    "li",
    "td",
    "th",
    "blockquote",
    "section",
    "article",
    "main",
    "body",
    "button",
    "dd",
    "dt",
];

/// Blocks that only start a new line.
pub fn is_line_block(name: &str) -> bool {
    matches!(
        name,
        "div"
            | "section"
            | "article"
            | "main"
            | "header"
            | "footer"
            | "aside"
            | "form"
            | "fieldset"
            | "figure"
            | "figcaption"
            | "details"
            | "summary"
            | "address"
            | "center"
            | "dl"
            | "dt"
            | "caption"
            | "legend"
            | "hgroup"
            | "body"
            | "option"
            | "label"
            | "search"
    )
}
