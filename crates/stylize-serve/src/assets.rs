//! What the binary carries: the page, its script and style, the photo
//! the fast network's styles are shown on, and the bundled style
//! paintings (from the repository's `assets/images`; see its
//! `PROVENANCE.tsv`).

/// A painting offered in the page's gallery.
#[derive(Debug)]
pub(crate) struct BuiltinStyle {
    pub(crate) name: &'static str,
    pub(crate) title: &'static str,
    pub(crate) bytes: &'static [u8],
}

pub(crate) const INDEX_HTML: &str = include_str!("../assets/index.html");
pub(crate) const APP_JS: &str = include_str!("../assets/app.js");
pub(crate) const STYLE_CSS: &str = include_str!("../assets/style.css");

/// The photo the fast network's built-in styles are shown on (Chelsea the
/// cat, CC0; `assets/images/PROVENANCE.tsv`).
pub(crate) const SWATCH_PHOTO: &[u8] = include_bytes!("../../../assets/images/chelsea.jpg");

pub(crate) const BUILTIN_STYLES: &[BuiltinStyle] = &[
    BuiltinStyle {
        name: "starry_night",
        title: "The Starry Night, Vincent van Gogh (1889)",
        bytes: include_bytes!("../../../assets/images/starry_night.jpg"),
    },
    BuiltinStyle {
        name: "great_wave",
        title: "The Great Wave off Kanagawa, Hokusai (c. 1831)",
        bytes: include_bytes!("../../../assets/images/great_wave.jpg"),
    },
    BuiltinStyle {
        name: "udnie",
        title: "Udnie, Francis Picabia (1913)",
        bytes: include_bytes!("../../../assets/images/udnie.jpg"),
    },
];

/// The bundled painting called `name` (`starry_night`, `great_wave`,
/// `udnie`), as JPEG bytes: what the page's commands name, so that the
/// command line takes the same names.
pub fn bundled_painting(name: &str) -> Option<&'static [u8]> {
    builtin_style(name).map(|s| s.bytes)
}

/// The bundled paintings' names.
pub fn bundled_painting_names() -> impl Iterator<Item = &'static str> {
    BUILTIN_STYLES.iter().map(|s| s.name)
}

/// The bundled style called `name`.
pub(crate) fn builtin_style(name: &str) -> Option<&'static BuiltinStyle> {
    BUILTIN_STYLES.iter().find(|s| s.name == name)
}
