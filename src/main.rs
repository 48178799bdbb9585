//! The `sig-register` command: serve, migrate, token, audit, retention.

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

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            eprintln!("sig-register: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
