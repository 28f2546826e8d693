//! `export` and `process`: one profile's credentials on stdout, in the format a
//! shell, a .env file or an SDK's `credential_process` expects. Printing
//! credentials is these commands' whole job; nothing else in ssosync does it.

use chrono::Utc;
use serde_json::json;

use crate::aws::RoleCredentials;
use crate::cli::{ExportArgs, ExportFormat, FetchArgs, ProcessArgs};
use crate::config::environment::Environment;
use crate::config::profiles::ProfileKind;
use crate::config::{self, selection};
use crate::engine::freshness::{self, Lifetimes};
use crate::engine::{Outcome, Syncer};
use crate::exit::{Exit, Fatal};
use crate::logging;
use crate::options;
use crate::progress::Progress;
use crate::quote;
use crate::store::apply::UserFile;
use crate::store::credentials::CredentialsFile;
use crate::timefmt::format_utc;

pub fn run_export(args: &ExportArgs, env: &Environment) -> Result<Exit, Fatal> {
    logging::init(args.fetch.verbose, env.no_color());
    let (creds, region) =
        match credentials_for(args.profile.as_deref(), args.no_write, &args.fetch, env)? {
            Ok(found) => found,
            Err(exit) => return Ok(exit),
        };
    print!("{}", render(args.format, &creds, region.as_deref()));
    Ok(Exit::Ok)
}

pub fn run_process(args: &ProcessArgs, env: &Environment) -> Result<Exit, Fatal> {
    logging::init(args.fetch.verbose, env.no_color());
    let (creds, _) =
        match credentials_for(args.profile.as_deref(), args.no_write, &args.fetch, env)? {
            Ok(found) => found,
            Err(exit) => return Ok(exit),
        };
    let doc = json!({
        "Version": 1,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key.expose(),
        "SessionToken": creds.session_token.expose(),
        "Expiration": format_utc(creds.expiration),
    });
    println!("{doc}");
    Ok(Exit::Ok)
}

/// A fresh entry from the credentials file when there is one, else a fetch (written
/// unless `no_write`). `Err(exit)` when the profile failed (already reported).
#[allow(clippy::type_complexity)]
fn credentials_for(
    profile: Option<&str>,
    no_write: bool,
    fetch: &FetchArgs,
    env: &Environment,
) -> Result<Result<(RoleCredentials, Option<String>), Exit>, Fatal> {
    let name = profile
        .map(str::to_string)
        .or_else(|| env.var("AWS_PROFILE").map(str::to_string))
        .unwrap_or_else(|| "default".to_string());
    let selection = std::slice::from_ref(&name);
    let config = config::load(env, selection)?;
    let targets = selection::resolve(selection, &config, env)?;
    let [target] = targets.as_slice() else {
        return Err(Fatal::Usage(format!(
            "`{name}` names {} profiles; name exactly one",
            targets.len()
        )));
    };
    let region = match config.get(&target.source) {
        Some(ProfileKind::Sso(p)) => p.region.clone(),
        Some(ProfileKind::Chained(c)) => c.region.clone(),
        _ => None,
    };
    let now = Utc::now();

    let user_file = UserFile::at(env, &env.credentials_path()?)?;
    let file: CredentialsFile = user_file.read()?;
    let mut warnings = Vec::new();
    let fresh = freshness::fresh_until(
        &file,
        &target.target,
        now,
        fetch.min_ttl,
        &mut Lifetimes::of(&user_file),
        &mut warnings,
    );
    if let (Some(_), Some(creds)) = (fresh, file.entry(&target.target)) {
        tracing::debug!(profile = %target.target, "using the fresh entry in the credentials file");
        return Ok(Ok((creds, region)));
    }

    let options = options::one_profile(fetch, no_write);
    let syncer = Syncer {
        env,
        config: &config,
        options: &options,
        now,
        progress: &Progress::off(),
    };
    let mut report = syncer.run(&targets)?;
    for w in &report.warnings {
        eprintln!("ssosync: warning: {w}");
    }
    let exit = report.exit();
    if let Some(result) = report.results.first_mut()
        && let Some(creds) = result.fetched.take()
    {
        if let Outcome::Failed(f) = &result.outcome {
            // Fetched but not written (long-term keys in the way): still usable.
            eprintln!("ssosync: warning: profile {}: {}", target.target, f.message);
        }
        return Ok(Ok((creds, region)));
    }
    for r in &report.results {
        if let Outcome::Failed(f) = &r.outcome {
            eprintln!("ssosync: profile {}: {}", r.target.source, f.message);
        }
    }
    Ok(Err(exit))
}

/// The variables, in the order the AWS CLI's `export-credentials` prints them.
fn variables<'a>(
    creds: &'a RoleCredentials,
    expiration: &'a str,
    region: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", creds.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.expose()),
        ("AWS_SESSION_TOKEN", creds.session_token.expose()),
        ("AWS_CREDENTIAL_EXPIRATION", expiration),
    ];
    if let Some(region) = region {
        vars.push(("AWS_REGION", region));
        vars.push(("AWS_DEFAULT_REGION", region));
    }
    vars
}

pub fn render(format: ExportFormat, creds: &RoleCredentials, region: Option<&str>) -> String {
    let expiration = format_utc(creds.expiration);
    let vars = variables(creds, &expiration, region);
    if format == ExportFormat::Json {
        let map: serde_json::Map<String, serde_json::Value> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        return format!("{}\n", serde_json::Value::Object(map));
    }
    vars.iter()
        .map(|(k, v)| match format {
            ExportFormat::Env => format!("export {k}={}\n", quote::posix(v)),
            ExportFormat::EnvNoExport => format!("{k}={}\n", quote::posix(v)),
            ExportFormat::Fish => format!("set -gx {k} {}\n", quote::fish(v)),
            ExportFormat::Powershell => format!("$Env:{k} = {}\n", quote::powershell(v)),
            ExportFormat::WindowsCmd => format!("set \"{k}={v}\"\n"),
            // docker --env-file and most dotenv readers take the rest of the line as is.
            ExportFormat::Dotenv => format!("{k}={v}\n"),
            // Rendered whole above.
            ExportFormat::Json => String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use chrono::TimeZone;

    fn creds() -> RoleCredentials {
        RoleCredentials {
            access_key_id: "ASIAX".into(),
            secret_access_key: Secret::new("a'b\\c$d"),
            session_token: Secret::new("tok=="),
            expiration: Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap(),
        }
    }

    #[test]
    fn quotes_for_each_shell() {
        let c = creds();
        let env = render(ExportFormat::Env, &c, Some("eu-west-1"));
        assert!(
            env.contains("export AWS_SECRET_ACCESS_KEY='a'\\''b\\c$d'\n"),
            "{env}"
        );
        assert!(env.contains("export AWS_CREDENTIAL_EXPIRATION='2030-01-02T03:04:05Z'\n"));
        assert!(env.contains("export AWS_DEFAULT_REGION='eu-west-1'\n"));
        let fish = render(ExportFormat::Fish, &c, None);
        assert!(
            fish.contains("set -gx AWS_SECRET_ACCESS_KEY 'a\\'b\\\\c$d'\n"),
            "{fish}"
        );
        assert!(!fish.contains("REGION"));
        let ps = render(ExportFormat::Powershell, &c, None);
        assert!(
            ps.contains("$Env:AWS_SECRET_ACCESS_KEY = 'a''b\\c$d'\n"),
            "{ps}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(ExportFormat::Json, &c, None)).unwrap();
        assert_eq!(json["AWS_SESSION_TOKEN"], "tok==");
    }
}
