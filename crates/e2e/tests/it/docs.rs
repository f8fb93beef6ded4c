//! The README's configuration table and `.env.example` say what the binaries read: every
//! environment variable of the receiver and the sender (taken from their clap definitions)
//! is in both with the binaries' own default, and neither lists a variable no binary reads,
//! except the few the table marks `compose` (docker-compose.yml only) and `RUST_LOG`.
//!
//! The table lives under `## Configuration` in README.md, one row per variable:
//! `` | `NAME` | read by | default | meaning | `` where "read by" is `receiver`, `sender`, `both`
//! or `compose`, and default is `required`, `empty` or the value in backticks. `.env.example`
//! lists `NAME=default` (empty when required or without default), or `# NAME=default` where a
//! line must stay commented out (Docker sets those paths in the image).
//!
//! Every crate's DEPS.md says why each of its dependencies is there, and names no other: one
//! list line per dependency or group, `` - `name`, `other` (features, notes): why ``: the
//! backticked names before the first `: `, outside parentheses, are the dependencies the line
//! is about. A DEPS.md that states the MSRV (`MSRV` then a version on the same line) states the
//! workspace's `rust-version`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use clap::CommandFactory;

/// What a row says a variable defaults to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum DefaultValue {
    /// Must be set.
    Required,
    /// No default (or the empty string).
    Empty,
    /// This value.
    Value(String),
}

impl DefaultValue {
    /// `.env.example` cannot say "required": both it and "no default" are an empty value there.
    fn as_env_value(&self) -> &str {
        match self {
            DefaultValue::Required | DefaultValue::Empty => "",
            DefaultValue::Value(v) => v,
        }
    }
}

/// A variable as the binaries define it.
#[derive(Debug)]
struct Setting {
    /// `receiver`, `sender`, `both` or `compose`.
    read_by: String,
    default: DefaultValue,
}

/// Variables no clap argument defines: `(name, read by, default)`.
const NOT_CLAP: &[(&str, &str, &str)] = &[
    // tracing's EnvFilter in ops::logging, "info" when unset.
    ("RUST_LOG", "both", "info"),
    // Interpolated by docker-compose.yml only (`${DEMO_WEBHOOK_URL:-}`, ...).
    ("DEMO_WEBHOOK_URL", "compose", ""),
    ("DEMO_WEBHOOK_API_KEY", "compose", ""),
    // The cluster profile's postgres service and the instances' DATABASE_URL (`${POSTGRES_PASSWORD:-}`).
    ("POSTGRES_PASSWORD", "compose", ""),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(root().join(name)).unwrap()
}

/// Every `env = "..."` argument of `command` and its subcommands, with its default.
fn env_args(command: &clap::Command, out: &mut BTreeMap<String, DefaultValue>) {
    for arg in command.get_arguments() {
        let Some(env) = arg.get_env() else { continue };
        let values: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let default = if arg.is_required_set() {
            DefaultValue::Required
        } else if values.concat().is_empty() {
            DefaultValue::Empty
        } else {
            DefaultValue::Value(values.join(","))
        };
        out.insert(env.to_string_lossy().into_owned(), default);
    }
    for sub in command.get_subcommands() {
        env_args(sub, out);
    }
}

/// What the binaries read (plus [`NOT_CLAP`]); a variable both read must default alike.
fn known() -> BTreeMap<String, Setting> {
    let (mut receiver, mut sender) = (BTreeMap::new(), BTreeMap::new());
    env_args(&receiver::cli::Cli::command(), &mut receiver);
    env_args(&sender::Config::command(), &mut sender);
    let mut known = BTreeMap::new();
    for (name, default) in &receiver {
        let read_by = match sender.get(name) {
            Some(other) => {
                assert_eq!(
                    default, other,
                    "{name} defaults differently in the receiver and the sender"
                );
                "both"
            }
            None => "receiver",
        };
        let default = default.clone();
        let read_by = read_by.to_owned();
        known.insert(name.clone(), Setting { read_by, default });
    }
    for (name, default) in sender {
        known.entry(name).or_insert(Setting {
            read_by: "sender".to_owned(),
            default,
        });
    }
    for (name, read_by, default) in NOT_CLAP {
        let default = match *default {
            "" => DefaultValue::Empty,
            v => DefaultValue::Value(v.to_owned()),
        };
        let read_by = (*read_by).to_owned();
        known.insert((*name).to_owned(), Setting { read_by, default });
    }
    known
}

/// The rows of the table under `## Configuration`: name -> (read by, default).
fn readme_table() -> BTreeMap<String, (String, DefaultValue)> {
    let readme = read("README.md");
    let section = readme.split("\n## Configuration\n").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").map(str::trim).collect();
        assert!(cells.len() >= 4, "not a 4-column row: {line}");
        let name = cells[0]
            .trim_start_matches("| ")
            .trim_matches('`')
            .to_owned();
        let default = match cells[2] {
            "required" => DefaultValue::Required,
            "empty" => DefaultValue::Empty,
            v if v.len() > 2 && v.starts_with('`') && v.ends_with('`') => {
                DefaultValue::Value(v[1..v.len() - 1].to_owned())
            }
            v => panic!("{name}: default {v:?} is not `required`, `empty` or a `value`"),
        };
        let previous = rows.insert(name.clone(), (cells[1].to_owned(), default));
        assert!(previous.is_none(), "{name} is in the table twice");
    }
    assert!(!rows.is_empty(), "no table under ## Configuration");
    rows
}

/// `.env.example`'s `NAME=value` and `# NAME=value` lines: name -> value.
fn env_example() -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in read(".env.example").lines() {
        let line = line.strip_prefix("# ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let is_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if is_name {
            let previous = vars.insert(name.to_owned(), value.to_owned());
            assert!(previous.is_none(), "{name} is in .env.example twice");
        }
    }
    vars
}

#[test]
fn readme_table_lists_every_setting_with_the_binaries_default() {
    let table = readme_table();
    let mut wrong = Vec::new();
    for (name, setting) in known() {
        match table.get(&name) {
            None => wrong.push(format!("{name}: missing")),
            Some((read_by, default)) => {
                if *read_by != setting.read_by {
                    wrong.push(format!(
                        "{name}: read by {read_by:?}, not {:?}",
                        setting.read_by
                    ));
                }
                if *default != setting.default {
                    wrong.push(format!(
                        "{name}: default {default:?}, not {:?}",
                        setting.default
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "README.md ## Configuration:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn env_example_lists_every_setting_with_the_binaries_default() {
    let example = env_example();
    let mut wrong = Vec::new();
    for (name, setting) in known() {
        match example.get(&name) {
            None => wrong.push(format!("{name}: missing")),
            Some(value) if value != setting.default.as_env_value() => wrong.push(format!(
                "{name}={value}, but the default is {:?}",
                setting.default.as_env_value()
            )),
            Some(_) => {}
        }
    }
    assert!(wrong.is_empty(), ".env.example:\n{}", wrong.join("\n"));
}

#[test]
fn readme_table_and_env_example_name_no_variable_the_binaries_do_not_read() {
    let known = known();
    let unknown: Vec<String> = readme_table()
        .into_keys()
        .map(|name| format!("README.md: {name}"))
        .chain(
            env_example()
                .into_keys()
                .map(|n| format!(".env.example: {n}")),
        )
        .filter(|entry| !known.contains_key(entry.rsplit(' ').next().unwrap()))
        .collect();
    assert!(
        unknown.is_empty(),
        "read by neither binary (a compose-only variable goes into NOT_CLAP): {unknown:?}"
    );
}

#[test]
fn compose_only_defaults_match_docker_compose_yml() {
    let compose = read("docker-compose.yml");
    for (name, read_by, default) in NOT_CLAP {
        if *read_by == "compose" {
            let interpolation = format!("${{{name}:-{default}}}");
            assert!(
                compose.contains(&interpolation),
                "docker-compose.yml does not use {interpolation}"
            );
        }
    }
}

/// The keys of a manifest's `[dependencies]`, `[dev-dependencies]` and `[build-dependencies]`,
/// also those under `[target.'cfg(…)'.…]`.
fn dependency_keys(manifest: &toml::Table) -> BTreeSet<String> {
    const TABLES: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut keys = BTreeSet::new();
    let mut add = |table: &toml::Table| {
        for name in TABLES {
            if let Some(deps) = table.get(name).and_then(toml::Value::as_table) {
                keys.extend(deps.keys().cloned());
            }
        }
    };
    add(manifest);
    let targets = manifest.get("target").and_then(toml::Value::as_table);
    for target in targets.into_iter().flat_map(|t| t.values()) {
        if let Some(target) = target.as_table() {
            add(target);
        }
    }
    keys
}

/// The dependencies a DEPS.md names (see the module docs for the line format).
fn deps_md_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for item in text.lines().filter_map(|line| line.strip_prefix("- ")) {
        let head = item.split(": ").next().unwrap_or_default();
        // `name` is `Some` inside backticks; `depth` counts open parentheses.
        let (mut depth, mut name) = (0, None::<String>);
        for c in head.chars() {
            if let Some(current) = name.as_mut() {
                if c != '`' {
                    current.push(c);
                    continue;
                }
                if depth == 0 {
                    names.insert(std::mem::take(current));
                }
                name = None;
            } else {
                match c {
                    '`' => name = Some(String::new()),
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
            }
        }
    }
    names
}

/// Every version a DEPS.md gives as the MSRV: the first `N.N[.N]` after each `MSRV` (or
/// "workspace says", as in "… 1.89 (the workspace says 1.88)").
fn stated_msrvs(text: &str) -> Vec<String> {
    let mut stated = Vec::new();
    for line in text.lines() {
        let markers = line
            .match_indices("MSRV")
            .chain(line.match_indices("workspace says"));
        for (at, _) in markers {
            let rest = &line[at..];
            let Some(start) = rest.find(|c: char| c.is_ascii_digit()) else {
                continue;
            };
            let version: String = rest[start..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            stated.push(version.trim_end_matches('.').to_owned());
        }
    }
    stated
}

#[test]
fn deps_md_lines_name_the_dependencies_before_the_colon() {
    let text = "# x\n\
                - `a`, `b-c` (feature `f`) + `d` 0.1: why, not `e`\n\
                prose naming `g`\n\
                - `h`: uses the MSRV 1.89.\n\
                - `i`: needs 1.90 (the workspace says 1.88)\n";
    let names: Vec<_> = deps_md_names(text).into_iter().collect();
    assert_eq!(names, ["a", "b-c", "d", "h", "i"]);
    assert_eq!(stated_msrvs(text), ["1.89", "1.88"]);
}

#[test]
fn every_crate_deps_md_says_why_of_exactly_its_dependencies() {
    let workspace: toml::Table = read("Cargo.toml").parse().unwrap();
    let msrv = workspace["workspace"]["package"]["rust-version"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut problems = Vec::new();
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .collect();
    crates.sort();
    assert!(crates.len() > 5, "crates found: {crates:?}");
    for dir in crates {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
        let Ok(doc) = std::fs::read_to_string(dir.join("DEPS.md")) else {
            problems.push(format!("crates/{name} has no DEPS.md"));
            continue;
        };
        let deps = dependency_keys(&manifest);
        let named = deps_md_names(&doc);
        for missing in deps.difference(&named) {
            problems.push(format!(
                "crates/{name}/DEPS.md does not say why `{missing}` is a dependency"
            ));
        }
        for extra in named.difference(&deps) {
            problems.push(format!(
                "crates/{name}/DEPS.md names `{extra}`, which its Cargo.toml does not have"
            ));
        }
        for stated in stated_msrvs(&doc) {
            if stated != msrv {
                problems.push(format!(
                    "crates/{name}/DEPS.md states MSRV {stated}; the workspace's is {msrv}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
