//! The `sig-register` command: serve, migrate, token, audit, retention, backup and restore.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use sig_register::cli::{self, TokenArgs};
use sig_register::config::Config;
use sig_register::{server, telemetry};

/// Consent-gated case register for social intervention groups (SIG, the Örebro model).
#[derive(Debug, Parser)]
#[command(name = "sig-register", version, about)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run pending migrations, load and validate policies/, serve HTTP.
    Serve,
    /// Run pending migrations and exit.
    Migrate,
    /// Print one signed development JWT (only while the development issuer is active).
    Token(TokenArgs),
    /// Verify or export the audit log, straight from the database.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Retention (gallring): erase the personal data of cases past their retention time.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Back up the register, also while it serves: the key files, the audit witness and, on
    /// SQLite, a consistent copy of the database, into a new folder (on PostgreSQL it says what
    /// to run for the database).
    Backup {
        /// A new or empty folder; keep it apart from the server, as safe as the keys in it.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Restore a backup into an empty SIG_DATA_DIR and, on SQLite, a new database file at
    /// SIG_DATABASE_URL; every file is checked against the backup's manifest first.
    Restore {
        /// The backup's folder.
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// The key files in SIG_DATA_DIR.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Development only: fill an empty register with fictitious cases, consents, plans, notes
    /// and three weeks of audit events, to look around in the web interface.
    Demo,
    /// An outside witness of audit logs (C2SP tlog-witness), for another party to run: it
    /// cosigns each signed tree head that extends the last one it cosigned, and refuses (and
    /// records) a rollback or fork.
    #[command(subcommand)]
    Witness(WitnessCommand),
}

#[derive(Debug, Subcommand)]
enum WitnessCommand {
    /// Serve `POST /add-checkpoint` until SIGTERM.
    Serve {
        /// Listen address.
        #[arg(long, env = "SIG_WITNESS_LISTEN", default_value = "127.0.0.1:8090")]
        listen: String,
        /// The witness's key (created on first start, 0600), its state and its evidence.
        #[arg(long, env = "SIG_WITNESS_DIR", default_value = "./witness")]
        dir: std::path::PathBuf,
        /// The witness's name in its cosignatures, e.g. `arkiv.orebro.se/sig-witness`.
        #[arg(long, env = "SIG_WITNESS_NAME")]
        name: String,
        /// A log to follow: its verifier key (`sig-register audit public-key`). Repeat, or
        /// separate with commas.
        #[arg(
            long = "log-key",
            env = "SIG_WITNESS_LOG_KEYS",
            value_delimiter = ',',
            required = true
        )]
        logs: Vec<String>,
    },
    /// Print the witness's verifier key (creating its key on first use), for the log's
    /// `SIG_AUDIT_WITNESSES`.
    Key {
        #[arg(long, env = "SIG_WITNESS_DIR", default_value = "./witness")]
        dir: std::path::PathBuf,
        #[arg(long, env = "SIG_WITNESS_NAME")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Replace a key with a new one, keeping the old one where it is still needed.
    Rotate {
        /// `field`: the field-encryption key. The current key moves to
        /// field-encryption.previous/ (values sealed with it keep opening); a new key seals
        /// what is written after each instance restarts. `blind-index`: the key of
        /// personal-number search; every case is indexed again in one transaction. `audit`: the
        /// audit log's signing key; the old key signs the handover to the new one at the log's
        /// head. Stop every instance first; a rotation cut short finishes when run again.
        #[arg(value_enum)]
        key: cli::RotatedKey,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Erase every closed case whose retention time (SIG_RETENTION_YEARS after its last
    /// entry) has passed, or keep it for the research archive; one audit event per case.
    /// Cases on hold are listed and kept.
    Run {
        /// List what would be erased, archived or held, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify the chain, the tree and the checkpoints: exit 0 when intact, 1 when tampered
    /// (naming the first bad sequence number and why), 2 when the log could not be read.
    Verify {
        /// Only what is new since the last recorded verification: the events after it, a
        /// consistency proof from its tree to the head, the checkpoints signed since. Without
        /// it, every event is read again.
        #[arg(long)]
        incremental: bool,
    },
    /// Write audit events to stdout, oldest first.
    Export {
        /// Events at or after this RFC 3339 time.
        #[arg(long)]
        from: Option<String>,
        /// Events at or before this RFC 3339 time.
        #[arg(long)]
        to: Option<String>,
        /// `ndjson` or `csv`.
        #[arg(long, default_value = "ndjson")]
        format: String,
    },
    /// Check a verifiable register extract offline, with only the log's public key: exit 0
    /// when every event is proven in the signed log, 1 when it is refused (saying why), 2 when
    /// the file or key cannot be read. Needs no database.
    VerifyExtract {
        /// The extract (`GET /api/v1/cases/{id}/access-log?format=verifiable`).
        file: std::path::PathBuf,
        /// The log's public key: its verifier key (`name+hash+base64`, as `audit public-key`
        /// prints it), the base64 or hex of the raw Ed25519 key, or a file holding one.
        #[arg(long, allow_hyphen_values = true)]
        public_key: String,
    },
    /// Print the audit log's verifier key (`origin+hash+base64`), to publish for the families,
    /// witnesses and auditors who check its checkpoints and extracts.
    PublicKey,
}

/// The settings each command uses, besides `--log` and `--log-format`: its `--help` lists these
/// only (every setting is still read from the environment by every command; `serve` uses and
/// lists them all). The top-level `--help` lists the ones every command shares.
fn settings_of(command: &str) -> Option<&'static [&'static str]> {
    const DATABASE: [&str; 3] = ["database_url", "database_password_file", "data_dir"];
    Some(match command {
        "serve" => return None,
        "migrate" => &["database_url", "database_password_file"],
        "token" => &[
            "data_dir",
            "jwt_issuer",
            "jwt_audience",
            "jwt_typ",
            "jwks_file",
            "jwks_url",
            "oidc_issuer",
        ],
        "keys" => &[
            "database_url",
            "database_password_file",
            "data_dir",
            "audit_origin",
        ],
        "audit" | "backup" | "restore" => &[DATABASE[0], DATABASE[1], DATABASE[2], "audit_origin"],
        "retention" | "demo" => &[
            DATABASE[0],
            DATABASE[1],
            DATABASE[2],
            "audit_origin",
            "policies_dir",
            "retention_years",
        ],
        "" => &["database_url", "data_dir"],
        _ => &[],
    })
}

/// The command line as `--help` shows it for the command at `path`: the settings that command
/// does not use are hidden (before clap copies the global settings into the subcommands, so the
/// copies are hidden too). Parsing uses the whole command line; only the help differs.
fn help_for(path: &[String]) -> clap::Command {
    use clap::{Args as _, CommandFactory as _};
    let settings: Vec<String> = Config::augment_args(clap::Command::new("settings"))
        .get_arguments()
        .map(|arg| arg.get_id().to_string())
        .collect();
    let mut command = Cli::command().after_help(
        "Each command's --help lists the settings it uses; `serve --help` lists them all.",
    );
    if let Some(uses) = settings_of(path.first().map(String::as_str).unwrap_or("")) {
        for id in &settings {
            let shared = id == "log" || id == "log_format";
            if !shared && !uses.contains(&id.as_str()) {
                command = command.mut_arg(id.as_str(), |arg| arg.hide(true));
            }
        }
    }
    command
}

/// The help of the subcommand at `path` of `command` (as far as the path leads).
fn render_help(command: &mut clap::Command, path: &[String], long: bool) -> String {
    if let Some((first, rest)) = path.split_first() {
        if let Some(sub) = command.find_subcommand_mut(first) {
            return render_help(sub, rest, long);
        }
    }
    let help = if long {
        command.render_long_help()
    } else {
        command.render_help()
    };
    use std::io::IsTerminal as _;
    if std::io::stdout().is_terminal() {
        let text = help.ansi().to_string();
        text
    } else {
        help.to_string()
    }
}

/// The subcommands named in `args` (the words after the program's name, `help` and flags —
/// with their values — passed over), for `--help`.
fn command_path(args: &[String]) -> Vec<String> {
    use clap::CommandFactory as _;
    let mut command = Cli::command();
    command.build();
    let mut path = Vec::new();
    let mut words = args.iter().skip(1).peekable();
    while let Some(word) = words.next() {
        if word == "help" && path.is_empty() {
            continue;
        }
        if let Some(long) = word.strip_prefix("--") {
            let takes_value = !long.contains('=')
                && command
                    .get_arguments()
                    .find(|arg| arg.get_long() == Some(long))
                    .is_some_and(|arg| arg.get_action().takes_values());
            if takes_value {
                words.next();
            }
            continue;
        }
        if word.starts_with('-') {
            continue;
        }
        match command.find_subcommand(word) {
            Some(sub) => {
                path.push(word.clone());
                let mut sub = sub.clone();
                sub.build();
                command = sub;
            }
            None => break,
        }
    }
    path
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if error.kind() == clap::error::ErrorKind::DisplayHelp => {
            let args: Vec<String> = std::env::args().collect();
            let path = command_path(&args);
            let mut command = help_for(&path);
            command.build();
            let long = !args.iter().any(|a| a == "-h");
            let help = render_help(&mut command, &path, long);
            print!("{help}");
            return ExitCode::SUCCESS;
        }
        Err(error) => error.exit(),
    };
    telemetry::init(&cli.config.log, cli.config.log_format);
    let result = match cli.command {
        Command::Serve => server::serve(cli.config),
        Command::Migrate => cli::migrate(&cli.config),
        Command::Token(args) => cli::token(&cli.config, &args),
        Command::Audit(AuditCommand::Verify { incremental }) => {
            return cli::audit_verify(&cli.config, incremental)
        }
        Command::Audit(AuditCommand::VerifyExtract { file, public_key }) => {
            return cli::audit_verify_extract(&file, &public_key)
        }
        Command::Audit(AuditCommand::PublicKey) => cli::audit_public_key(&cli.config),
        Command::Audit(AuditCommand::Export { from, to, format }) => {
            cli::audit_export(&cli.config, from.as_deref(), to.as_deref(), &format)
        }
        Command::Retention(RetentionCommand::Run { dry_run }) => {
            cli::retention_run(cli.config, dry_run)
        }
        Command::Keys(KeysCommand::Rotate { key }) => cli::keys_rotate(&cli.config, key),
        Command::Backup { to } => cli::backup(&cli.config, &to),
        Command::Restore { from } => cli::restore(&cli.config, &from),
        Command::Demo => cli::demo(cli.config),
        Command::Witness(WitnessCommand::Serve {
            listen,
            dir,
            name,
            logs,
        }) => sig_register::cosigner::serve(sig_register::cosigner::WitnessSettings {
            listen,
            dir,
            name,
            logs,
        }),
        Command::Witness(WitnessCommand::Key { dir, name }) => {
            sig_register::cosigner::verifier_key(&dir, &name).map(|key| println!("{key}"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sig-register: {}", describe(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each said once: most messages already include their cause's text,
/// and printing the chain as well would repeat it.
fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let error = anyhow::Error::new(io).context("keys: ./data/x.key: No such file or directory");
        assert_eq!(
            super::describe(&error),
            "keys: ./data/x.key: No such file or directory"
        );
        let error = anyhow::anyhow!("the cause").context("what was being done");
        assert_eq!(super::describe(&error), "what was being done: the cause");
    }

    #[test]
    fn each_command_lists_its_own_settings() {
        let help = |path: &[&str]| {
            let path: Vec<String> = path.iter().map(|p| p.to_string()).collect();
            let mut command = super::help_for(&path);
            command.build();
            super::render_help(&mut command, &path, true)
        };
        let args = |line: &str| line.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            super::command_path(&args("sig-register --data-dir x audit verify --help")),
            ["audit", "verify"]
        );
        assert_eq!(
            super::command_path(&args("sig-register help token")),
            ["token"]
        );
        assert!(super::command_path(&args("sig-register --help")).is_empty());
        let token = help(&["token"]);
        assert!(
            token.contains("--sub")
                && token.contains("--data-dir")
                && token.contains("--jwt-issuer")
        );
        for server_only in [
            "--bind",
            "--rate-limit-burst",
            "--session-idle-minutes",
            "--oidc-client-id",
        ] {
            assert!(
                !token.contains(server_only),
                "token --help lists {server_only}"
            );
        }
        let serve = help(&["serve"]);
        for setting in [
            "--bind",
            "--rate-limit-burst",
            "--database-url",
            "--jwks-url",
            "--log",
        ] {
            assert!(serve.contains(setting), "serve --help lacks {setting}");
        }
        let verify = help(&["audit", "verify"]);
        assert!(verify.contains("--database-url") && !verify.contains("--bind"));
        let top = help(&[]);
        assert!(top.contains("--data-dir") && !top.contains("--rate-limit-burst"));
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
