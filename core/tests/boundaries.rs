//! The domain crates never depend on an AWS SDK, a Lambda runtime, a Discord
//! library, songbird or an HTTP framework: they talk to ports. `cargo tree`
//! over their normal dependencies keeps it so.

use std::process::Command;

const DOMAIN_CRATES: &[&str] = &["timmybot-core", "timmybot-allowlist", "timmybot-interactions", "timmybot-accounts"];
const FORBIDDEN_PREFIXES: &[&str] = &["aws-", "lambda_", "lambda-", "twilight-", "songbird", "axum", "rusqlite"];

#[test]
fn domain_crates_depend_on_no_adapter_technology() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    for krate in DOMAIN_CRATES {
        let out = Command::new(&cargo)
            .args(["tree", "--offline", "--locked", "-e", "normal", "--prefix", "none", "-p", krate])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo tree runs");
        assert!(out.status.success(), "cargo tree -p {krate}: {}", String::from_utf8_lossy(&out.stderr));
        let tree = String::from_utf8_lossy(&out.stdout);
        assert!(tree.lines().count() > 1, "cargo tree -p {krate} listed nothing");
        let offenders: Vec<&str> =
            tree.lines().filter(|line| FORBIDDEN_PREFIXES.iter().any(|p| line.starts_with(p))).collect();
        assert!(offenders.is_empty(), "{krate} depends on {offenders:?}");
    }
}
