//! One rule for reading settings in both binaries: a variable set to an empty value is not set.
//!
//! Docker Compose passes every `KEY=` line of an `env_file` to the container as an empty
//! string, and `.env.example` leaves optional values empty, so "empty" has to mean "take the
//! default" — clap alone would reject it (`a value is required for '--logs-dir'`) or hand the
//! empty string to a value parser. [`parse`] and [`matches()`] drop every environment binding
//! whose value is empty or only whitespace before clap reads it, for the command and all its
//! subcommands; flags given on the command line are untouched. A refused value of a secret
//! setting is never repeated in the error (see `without_secret_value`).

use std::ffi::OsString;

use clap::{ArgMatches, Command, CommandFactory, FromArgMatches};

/// Parses `P` from the process's arguments and environment with the empty-means-unset rule.
/// Exits the process with clap's message (naming the flag and its variable) on bad input, and
/// prints help or the version when asked, like `clap::Parser::parse`.
pub fn parse<P: CommandFactory + FromArgMatches>() -> P {
    from_matches(&matches::<P>())
}

/// The raw matches of `P` under the empty-means-unset rule, for binaries that branch on a
/// subcommand before building their whole configuration (e.g. `healthcheck`, which needs no
/// secret). Exits like [`parse`] on bad input.
pub fn matches<P: CommandFactory>() -> ArgMatches {
    let mut command = without_empty_env(P::command(), &|name| std::env::var_os(name));
    command
        .try_get_matches_from_mut(std::env::args_os())
        .unwrap_or_else(|e| without_secret_value(e, &mut command).exit())
}

/// Builds `P` from matches returned by [`matches()`]; exits with clap's message when a required
/// value is missing or a value does not parse.
pub fn from_matches<P: CommandFactory + FromArgMatches>(matches: &ArgMatches) -> P {
    P::from_arg_matches(matches).unwrap_or_else(|e| e.format(&mut P::command()).exit())
}

/// clap's "invalid value '<VALUE>' for '<ARG>': <reason>" names the value. For a secret
/// argument (one whose environment value clap hides, `hide_env_values`) or a value holding
/// credentials (`scheme://user:password@host`), the error is rebuilt without it: the variable
/// and the rule are named, the value never (it would land in `docker logs`).
fn without_secret_value(error: clap::Error, command: &mut Command) -> clap::Error {
    use clap::error::{ContextKind, ContextValue};
    let (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) = (
        error.get(ContextKind::InvalidArg),
        error.get(ContextKind::InvalidValue),
    ) else {
        return error;
    };
    let Some(refused) = command.get_arguments().find(|a| a.to_string() == *arg) else {
        return error;
    };
    if !refused.is_hide_env_values_set() && !has_credentials(value) {
        return error;
    }
    let variable = match refused.get_env().and_then(|n| n.to_str()) {
        Some(name) if !arg.contains(name) => format!(" ({name})"),
        _ => String::new(),
    };
    let reason = std::error::Error::source(&error)
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    let reason = if has_credentials(&reason) {
        String::new()
    } else {
        reason
    };
    clap::Error::raw(
        error.kind(),
        format!("invalid value (not shown: it may be secret) for '{arg}'{variable}{reason}\n"),
    )
    .format(command)
}

/// Whether `value` looks like a URL with a user or password (`scheme://user:pass@host`).
fn has_credentials(value: &str) -> bool {
    value.split_once("://").is_some_and(|(_, rest)| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        authority.contains('@')
    })
}

/// Removes the environment binding of every argument whose variable is empty (or whitespace)
/// in `env`, in `command` and recursively in its subcommands.
fn without_empty_env(mut command: Command, env: &dyn Fn(&str) -> Option<OsString>) -> Command {
    for (id, name) in env_args(&command) {
        let empty = env(&name).is_some_and(|v| v.to_string_lossy().trim().is_empty());
        if empty {
            command = command.mut_arg(id, |a| a.env(None::<&str>));
        }
    }
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in subcommands {
        command = command.mut_subcommand(name, |s| without_empty_env(s, env));
    }
    command
}

/// Every argument of `command` (not its subcommands) that reads an environment variable.
fn env_args(command: &Command) -> Vec<(clap::Id, String)> {
    command
        .get_arguments()
        .filter_map(|a| {
            let name = a.get_env()?.to_str()?.to_owned();
            Some((a.get_id().clone(), name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Settings {
        #[arg(long, env = "OPS_CFG_TEST_PORT", default_value_t = 8000)]
        port: u16,
        #[arg(long, env = "OPS_CFG_TEST_NAME")]
        name: Option<String>,
        #[command(subcommand)]
        command: Option<Sub>,
    }

    #[derive(clap::Subcommand, Debug)]
    enum Sub {
        Run {
            #[arg(long, env = "OPS_CFG_TEST_SUB")]
            value: Option<String>,
        },
    }

    fn bound(command: &Command) -> Vec<String> {
        let mut names: Vec<String> = env_args(command).into_iter().map(|(_, n)| n).collect();
        for sub in command.get_subcommands() {
            names.extend(bound(sub));
        }
        names
    }

    #[test]
    fn empty_and_blank_variables_lose_their_binding_set_ones_keep_it() {
        let env = |name: &str| match name {
            "OPS_CFG_TEST_PORT" => Some(OsString::from("")),
            "OPS_CFG_TEST_NAME" => Some(OsString::from("n")),
            "OPS_CFG_TEST_SUB" => Some(OsString::from(" \t")),
            _ => None,
        };
        let command = without_empty_env(Settings::command(), &env);
        assert_eq!(bound(&command), ["OPS_CFG_TEST_NAME"]);
    }

    #[derive(Parser, Debug)]
    struct WithSecret {
        #[arg(long, env = "OPS_CFG_TEST_KEY", hide_env_values = true, value_parser = short)]
        key: Option<String>,
        #[arg(long, env = "OPS_CFG_TEST_URL", value_parser = short)]
        url: Option<String>,
    }

    fn short(value: &str) -> Result<String, String> {
        if value.len() < 40 {
            return Err("must be at least 40 characters".into());
        }
        Ok(value.to_owned())
    }

    fn rendered(args: &[&str]) -> String {
        let mut command = WithSecret::command();
        let error = command
            .try_get_matches_from_mut(args)
            .expect_err("the value is refused");
        without_secret_value(error, &mut command).to_string()
    }

    #[test]
    fn refused_secret_values_and_credentials_are_not_shown() {
        let said = rendered(&["t", "--key", "hunter2-distinctive"]);
        assert!(!said.contains("hunter2"), "{said}");
        assert!(
            said.contains("OPS_CFG_TEST_KEY") && said.contains("at least 40"),
            "{said}"
        );
        let said = rendered(&["t", "--url", "ftp://u:PASSWORD9@h/x"]);
        assert!(!said.contains("PASSWORD9"), "{said}");
        assert!(said.contains("OPS_CFG_TEST_URL"), "{said}");
        // Anything else keeps clap's message with the value: it helps and is no secret.
        let said = rendered(&["t", "--url", "plain"]);
        assert!(said.contains("'plain'"), "{said}");
    }

    #[test]
    fn unset_variables_keep_their_binding() {
        let command = without_empty_env(Settings::command(), &|_| None);
        assert_eq!(
            bound(&command),
            ["OPS_CFG_TEST_PORT", "OPS_CFG_TEST_NAME", "OPS_CFG_TEST_SUB"]
        );
    }

    #[test]
    fn an_unbound_empty_variable_falls_back_to_the_default() {
        let env = |name: &str| (name == "OPS_CFG_TEST_PORT").then(|| OsString::from(""));
        let mut command = without_empty_env(Settings::command(), &env);
        let matches = command.try_get_matches_from_mut(["t"]).expect("parses");
        let settings: Settings = from_matches(&matches);
        assert_eq!(settings.port, 8000);
        assert!(settings.name.is_none() && settings.command.is_none());
    }
}
