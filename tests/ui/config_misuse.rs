#[mer_core::config]
pub struct Settings {
    #[config(default = "fast")]
    pub rate: f64,
}

#[mer_core::config(strict)]
pub struct Other {
    pub rate: f64,
}

fn main() {}
