//! Misusing the DSL is a compile error at the offending span, with a message that says what to
//! write instead.

#[test]
fn dsl_misuse_fails_to_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
