//! The chain, with explicit environments and a temporary home: never the process's own.
//!
//! Every secret and token used here contains `hush`; every chain built, every source resolved,
//! every description and every error goes through [`check`], which formats it with `{}`, `{:?}`
//! and `{:#?}` and fails if `hush` shows up.

use super::*;
use crate::region::default_region;
use std::fs;
use tempfile::TempDir;

const MARK: &str = "hush";

// The precedence of docs/api-notes.md, written out here (not taken from the module's constants) so
// that a reordering there fails these tests.
const NOTES_ID_VARS: [&str; 4] = [
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABACLOUD_ACCESS_KEY_ID",
    "ALICLOUD_ACCESS_KEY_ID",
    "ALICLOUD_ACCESS_KEY",
];
const NOTES_SECRET_VARS: [&str; 4] = [
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABACLOUD_ACCESS_KEY_SECRET",
    "ALICLOUD_ACCESS_KEY_SECRET",
    "ALICLOUD_SECRET_KEY",
];
const NOTES_TOKEN_VARS: [&str; 3] = [
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "ALIBABACLOUD_SECURITY_TOKEN",
    "ALICLOUD_SECURITY_TOKEN",
];
const NOTES_REGION_VARS: [&str; 4] = [
    "ALIBABA_CLOUD_REGION_ID",
    "ALIBABACLOUD_REGION_ID",
    "ALICLOUD_REGION_ID",
    "ALICLOUD_REGION",
];
const NOTES_PROFILE_VARS: [&str; 3] = [
    "ALIBABA_CLOUD_PROFILE",
    "ALIBABACLOUD_PROFILE",
    "ALICLOUD_PROFILE",
];

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.to_ascii_lowercase().contains(MARK),
        "{what} shows a secret: {text}"
    );
}

/// Formats every way and checks for secrets.
fn check<T: fmt::Debug + fmt::Display>(what: &str, v: &T) {
    assert_clean(what, &format!("{v}"));
    assert_clean(what, &format!("{v:?}"));
    assert_clean(what, &format!("{v:#?}"));
}

/// Resolves, checking the chain, the answer (source or error) and the description.
fn resolve(chain: &CredentialChain) -> Result<CredentialSource> {
    check("chain", chain);
    let described = chain.describe();
    assert_clean("describe()", &described);
    let r = chain.resolve();
    match &r {
        Ok(source) => {
            check("source", source);
            if let CredentialSource::Static(c) | CredentialSource::RamRoleArn { base: c, .. } =
                source
            {
                check("credentials", c);
            }
            assert!(!described.starts_with("no usable"), "{described}");
        }
        Err(e) => {
            check("error", e);
            assert_eq!(described, format!("no usable credentials: {e}"));
        }
    }
    r
}

fn static_of(r: Result<CredentialSource>) -> Credentials {
    match r {
        Ok(CredentialSource::Static(c)) => c,
        other => panic!("expected static credentials, got {other:?}"),
    }
}

fn err_of(r: Result<CredentialSource>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(s) => panic!("expected an error, got {s:?}"),
    }
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A temporary home, optionally with `.aliyun/config.json`.
fn home(config: Option<&str>) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(text) = config {
        fs::create_dir_all(dir.path().join(".aliyun")).unwrap();
        fs::write(dir.path().join(".aliyun/config.json"), text).unwrap();
    }
    dir
}

fn chain(pairs: &[(&str, &str)], home: &TempDir) -> CredentialChain {
    CredentialChain::with_env(env(pairs), Some(home.path().to_path_buf()))
}

fn config_path(home: &TempDir) -> String {
    home.path()
        .join(".aliyun/config.json")
        .display()
        .to_string()
}

/// A CLI-written file with one profile of each mode; `current` is "default".
const ALL_MODES: &str = r#"{
  "current": "default",
  "profiles": [
    {"name": "default", "mode": "AK", "access_key_id": "LTAIfileDefault01", "access_key_secret": "hush-file-default",
     "sts_token": "", "ram_role_name": "", "ram_role_arn": "", "ram_session_name": "", "expired_seconds": 0,
     "region_id": "cn-hangzhou", "output_format": "json", "language": "en"},
    {"name": "sts", "mode": "StsToken", "access_key_id": "STS.fileSts01", "access_key_secret": "hush-file-sts",
     "sts_token": "hush-file-sts-token", "region_id": "cn-beijing"},
    {"name": "role", "mode": "RamRoleArn", "access_key_id": "LTAIfileRole01", "access_key_secret": "hush-file-role",
     "ram_role_arn": "acs:ram::123:role/x", "ram_session_name": "s", "expired_seconds": 1800},
    {"name": "role-defaults", "mode": "RamRoleArn", "access_key_id": "LTAIfileRole02", "access_key_secret": "hush-file-role2",
     "ram_role_arn": "acs:ram::123:role/y", "ram_session_name": "", "expired_seconds": 0},
    {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "myrole"},
    {"name": "ecs-any", "mode": "EcsRamRole", "ram_role_name": ""},
    {"name": "weird", "mode": "CloudSSO", "access_key_id": "x"},
    {"name": "short", "mode": "RamRoleArn", "access_key_id": "LTAIfileRole03", "access_key_secret": "hush-file-role3",
     "ram_role_arn": "acs:ram::123:role/z", "expired_seconds": 600},
    {"name": "ak-no-secret", "mode": "AK", "access_key_id": "LTAIfileNoSecret"},
    {"name": "sts-no-token", "mode": "StsToken", "access_key_id": "STS.x", "access_key_secret": "hush-file-nt"}
  ]
}"#;

// ---------------------------------------------------------------- environment precedence

/// For each pair of variables (higher, lower) of `vars`, both set: the higher one wins.
fn each_pair(vars: &[&'static str], mut f: impl FnMut(&'static str, &'static str)) {
    for (i, hi) in vars.iter().enumerate() {
        for lo in &vars[i + 1..] {
            f(hi, lo);
        }
    }
}

#[test]
fn key_id_precedence() {
    let h = home(None);
    each_pair(&NOTES_ID_VARS, |hi, lo| {
        let c = static_of(resolve(&chain(
            &[
                (lo, "LTAIlowerKeyId"),
                (hi, "LTAIhigherKeyId"),
                ("ALICLOUD_SECRET_KEY", "hush-s"),
            ],
            &h,
        )));
        assert_eq!(c.access_key_id, "LTAIhigherKeyId", "{hi} vs {lo}");
    });
}

#[test]
fn secret_precedence() {
    let h = home(None);
    each_pair(&NOTES_SECRET_VARS, |hi, lo| {
        let ch = chain(
            &[
                ("ALICLOUD_ACCESS_KEY", "LTAIsomeKeyId"),
                (lo, "hush-lower"),
                (hi, "hush-higher"),
            ],
            &h,
        );
        let c = static_of(resolve(&ch));
        assert_eq!(c.access_key_secret.expose(), "hush-higher", "{hi} vs {lo}");
        assert_eq!(c.security_token, None);
        assert_eq!(
            ch.describe(),
            format!("environment variables ALICLOUD_ACCESS_KEY and {hi}")
        );
    });
}

#[test]
fn token_precedence() {
    let h = home(None);
    each_pair(&NOTES_TOKEN_VARS, |hi, lo| {
        let ch = chain(
            &[
                ("ALIBABA_CLOUD_ACCESS_KEY_ID", "STS.someKeyId"),
                ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "hush-s"),
                (lo, "hush-token-lower"),
                (hi, "hush-token-higher"),
            ],
            &h,
        );
        let c = static_of(resolve(&ch));
        assert_eq!(
            c.security_token.as_ref().map(Secret::expose),
            Some("hush-token-higher"),
            "{hi} vs {lo}"
        );
        assert!(ch
            .describe()
            .ends_with(&format!("with the security token from {hi}")));
    });
}

#[test]
fn region_precedence() {
    let h = home(Some(ALL_MODES));
    each_pair(&NOTES_REGION_VARS, |hi, lo| {
        let ch = chain(&[(lo, "cn-lower"), (hi, "cn-higher")], &h);
        check("chain", &ch);
        assert_eq!(
            default_region(&ch).as_deref(),
            Some("cn-higher"),
            "{hi} vs {lo}"
        );
    });
    for var in NOTES_REGION_VARS {
        // Any region variable beats the profile's region.
        let ch = chain(&[(var, "ap-southeast-1")], &h);
        assert_eq!(default_region(&ch).as_deref(), Some("ap-southeast-1"));
    }
}

#[test]
fn profile_variable_precedence() {
    let file = r#"{"current":"c","profiles":[
        {"name":"c","mode":"AK","access_key_id":"LTAIcurrentKeyId","access_key_secret":"hush-c","region_id":"r-current"},
        {"name":"p0","mode":"AK","access_key_id":"LTAIprofile0KeyId","access_key_secret":"hush-0","region_id":"r-0"},
        {"name":"p1","mode":"AK","access_key_id":"LTAIprofile1KeyId","access_key_secret":"hush-1","region_id":"r-1"},
        {"name":"p2","mode":"AK","access_key_id":"LTAIprofile2KeyId","access_key_secret":"hush-2","region_id":"r-2"}]}"#;
    let h = home(Some(file));
    let index = |v: &str| NOTES_PROFILE_VARS.iter().position(|p| *p == v).unwrap();
    each_pair(&NOTES_PROFILE_VARS, |hi, lo| {
        let (hi_name, lo_name) = (format!("p{}", index(hi)), format!("p{}", index(lo)));
        let ch = chain(&[(lo, lo_name.as_str()), (hi, hi_name.as_str())], &h);
        let c = static_of(resolve(&ch));
        assert_eq!(
            c.access_key_id,
            format!("LTAIprofile{}KeyId", index(hi)),
            "{hi} vs {lo}"
        );
        assert_eq!(default_region(&ch), Some(format!("r-{}", index(hi))));
        assert_eq!(
            ch.describe(),
            format!(
                "profile {hi_name:?} in {} (mode AK, named by {hi})",
                config_path(&h)
            )
        );
    });
    // Each profile variable beats the file's current; the explicit profile beats them all.
    for var in NOTES_PROFILE_VARS {
        let ch = chain(&[(var, "p1")], &h);
        assert_eq!(static_of(resolve(&ch)).access_key_id, "LTAIprofile1KeyId");
        let ch = ch.profile("p2".to_string());
        assert_eq!(static_of(resolve(&ch)).access_key_id, "LTAIprofile2KeyId");
        assert_eq!(default_region(&ch).as_deref(), Some("r-2"));
    }
    let ch = chain(&[], &h);
    assert_eq!(static_of(resolve(&ch)).access_key_id, "LTAIcurrentKeyId");
    assert_eq!(default_region(&ch).as_deref(), Some("r-current"));
}

#[test]
fn blank_variables_count_as_unset() {
    let h = home(None);
    let c = static_of(resolve(&chain(
        &[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", ""),
            ("ALIBABACLOUD_ACCESS_KEY_ID", "  "),
            ("ALICLOUD_ACCESS_KEY_ID", "LTAIthirdKeyId"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ""),
            ("ALICLOUD_SECRET_KEY", "hush-fourth"),
            ("ALIBABA_CLOUD_SECURITY_TOKEN", ""),
            ("ALIBABA_CLOUD_REGION_ID", ""),
        ],
        &h,
    )));
    assert_eq!(c.access_key_id, "LTAIthirdKeyId");
    assert_eq!(c.access_key_secret.expose(), "hush-fourth");
    assert_eq!(c.security_token, None);
}

#[test]
fn only_one_half_in_the_environment() {
    let h = home(Some(ALL_MODES));
    for var in NOTES_ID_VARS {
        let e = err_of(resolve(&chain(&[(var, "LTAIlonelyKeyId")], &h)));
        assert!(e.contains(var), "{e}");
        assert!(e.contains("access key secret is missing"), "{e}");
        for missing in NOTES_SECRET_VARS {
            assert!(e.contains(missing), "{missing} not in {e}");
        }
        assert!(!e.contains("LTAIlonelyKeyId"), "{e}");
    }
    for var in NOTES_SECRET_VARS {
        let e = err_of(resolve(&chain(&[(var, "hush-lonely")], &h)));
        assert!(e.contains(var), "{e}");
        assert!(e.contains("access key id is missing"), "{e}");
        for missing in NOTES_ID_VARS {
            assert!(e.contains(missing), "{missing} not in {e}");
        }
    }
}

// ---------------------------------------------------------------- explicit keys

#[test]
fn explicit_keys_come_first() {
    let h = home(Some(ALL_MODES));
    let ch = chain(
        &[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIenvKeyId"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "hush-env"),
            ("ALIBABA_CLOUD_SECURITY_TOKEN", "hush-env-token"),
            ("ALIBABA_CLOUD_PROFILE", "sts"),
        ],
        &h,
    )
    .profile("role".to_string())
    .explicit_keys("LTAIexplicitKeyId".into(), "hush-explicit".into(), None);
    let c = static_of(resolve(&ch));
    assert_eq!(c.access_key_id, "LTAIexplicitKeyId");
    assert_eq!(c.access_key_secret.expose(), "hush-explicit");
    // The environment's token belongs to the environment's keys only.
    assert_eq!(c.security_token, None);
    assert_eq!(ch.describe(), "explicit keys");

    let ch = ch.explicit_keys(
        "STS.explicitKeyId".into(),
        "hush-explicit".into(),
        Some("hush-explicit-token".into()),
    );
    let c = static_of(resolve(&ch));
    assert_eq!(
        c.security_token.as_ref().map(Secret::expose),
        Some("hush-explicit-token")
    );
}

#[test]
fn explicit_keys_with_a_half_missing() {
    let h = home(Some(ALL_MODES));
    let e = err_of(resolve(&chain(&[], &h).explicit_keys(
        "LTAIexplicitKeyId".into(),
        String::new(),
        None,
    )));
    assert!(e.contains("access key secret is missing"), "{e}");
    let e = err_of(resolve(&chain(&[], &h).explicit_keys(
        String::new(),
        "hush-x".into(),
        None,
    )));
    assert!(e.contains("access key id is missing"), "{e}");
    let e = err_of(resolve(&chain(&[], &h).explicit_key_parts(
        None,
        None,
        Some("hush-token".into()),
    )));
    assert!(e.contains("security token was given without"), "{e}");
    // Nothing at all given: the chain goes on (here to the file's current profile).
    let ch = chain(&[], &h).explicit_key_parts(None, Some(" ".into()), None);
    assert_eq!(static_of(resolve(&ch)).access_key_id, "LTAIfileDefault01");
}

// ---------------------------------------------------------------- profile file

#[test]
fn each_profile_mode() {
    let h = home(Some(ALL_MODES));
    let path = config_path(&h);
    let by_name = |name: &str| {
        let ch = chain(&[], &h).profile(name.to_string());
        (resolve(&ch), ch.describe())
    };

    let (r, d) = by_name("default");
    let c = static_of(r);
    assert_eq!(c.access_key_id, "LTAIfileDefault01");
    assert_eq!(c.access_key_secret.expose(), "hush-file-default");
    assert_eq!(c.security_token, None);
    assert_eq!(d, format!("profile \"default\" in {path} (mode AK)"));

    let (r, d) = by_name("sts");
    let c = static_of(r);
    assert_eq!(c.access_key_id, "STS.fileSts01");
    assert_eq!(
        c.security_token.as_ref().map(Secret::expose),
        Some("hush-file-sts-token")
    );
    assert_eq!(d, format!("profile \"sts\" in {path} (mode StsToken)"));

    match by_name("role").0.unwrap() {
        CredentialSource::RamRoleArn {
            base,
            role_arn,
            session_name,
            duration_seconds,
            ..
        } => {
            assert_eq!(base.access_key_id, "LTAIfileRole01");
            assert_eq!(base.access_key_secret.expose(), "hush-file-role");
            assert_eq!(role_arn, "acs:ram::123:role/x");
            assert_eq!(session_name, "s");
            assert_eq!(duration_seconds, 1800);
        }
        other => panic!("{other:?}"),
    }

    match by_name("ecs").0.unwrap() {
        CredentialSource::EcsRamRole { role_name } => {
            assert_eq!(role_name.as_deref(), Some("myrole"))
        }
        other => panic!("{other:?}"),
    }
    match by_name("ecs-any").0.unwrap() {
        CredentialSource::EcsRamRole { role_name } => assert_eq!(role_name, None),
        other => panic!("{other:?}"),
    }

    let e = err_of(by_name("ak-no-secret").0);
    assert!(
        e.contains("\"ak-no-secret\"") && e.contains("has no access_key_secret"),
        "{e}"
    );
    let e = err_of(by_name("sts-no-token").0);
    assert!(e.contains("has no sts_token"), "{e}");
}

#[test]
fn ram_role_arn_defaults_and_minimum() {
    let h = home(Some(ALL_MODES));
    match resolve(&chain(&[], &h).profile("role-defaults".into())).unwrap() {
        CredentialSource::RamRoleArn {
            role_arn,
            session_name,
            duration_seconds,
            ..
        } => {
            assert_eq!(role_arn, "acs:ram::123:role/y");
            assert_eq!(session_name, "alicloud-api");
            assert_eq!(session_name, DEFAULT_ROLE_SESSION_NAME);
            assert_eq!(duration_seconds, 3600);
        }
        other => panic!("{other:?}"),
    }
    let e = err_of(resolve(&chain(&[], &h).profile("short".into())));
    assert!(
        e.contains("expired_seconds 600") && e.contains("at least 900"),
        "{e}"
    );
}

#[test]
fn unknown_mode() {
    let h = home(Some(ALL_MODES));
    let e = err_of(resolve(&chain(&[], &h).profile("weird".into())));
    assert!(e.contains("mode CloudSSO"), "{e}");
    assert!(e.contains("AK, StsToken, RamRoleArn, EcsRamRole"), "{e}");
    assert!(e.contains(&config_path(&h)), "{e}");
}

#[test]
fn current_profile_and_the_default_fallback() {
    let h = home(Some(ALL_MODES));
    let ch = chain(&[], &h);
    assert_eq!(static_of(resolve(&ch)).access_key_id, "LTAIfileDefault01");
    assert_eq!(
        ch.describe(),
        format!(
            "profile \"default\" in {} (mode AK, the file's current profile)",
            config_path(&h)
        )
    );
    assert_eq!(default_region(&ch).as_deref(), Some("cn-hangzhou"));

    // current names another profile.
    let h2 = home(Some(
        &ALL_MODES.replace("\"current\": \"default\"", "\"current\": \"sts\""),
    ));
    let ch = chain(&[], &h2);
    assert_eq!(static_of(resolve(&ch)).access_key_id, "STS.fileSts01");
    assert_eq!(default_region(&ch).as_deref(), Some("cn-beijing"));

    // No current: a profile named "default" is used.
    let h3 = home(Some(&ALL_MODES.replace("\"current\": \"default\",", "")));
    let ch = chain(&[], &h3);
    assert_eq!(static_of(resolve(&ch)).access_key_id, "LTAIfileDefault01");
    assert!(ch.describe().ends_with("(mode AK, the default profile)"));

    // current names a profile that is not there.
    let h4 = home(Some(
        &ALL_MODES.replace("\"current\": \"default\"", "\"current\": \"gone\""),
    ));
    let e = err_of(resolve(&chain(&[], &h4)));
    assert!(
        e.contains("no profile \"gone\" (the file's current profile)"),
        "{e}"
    );
    assert!(e.contains("\"default\", \"sts\", \"role\""), "{e}");
    assert!(e.contains(&config_path(&h4)), "{e}");

    // A profile variable naming a missing profile.
    let e = err_of(resolve(&chain(&[("ALICLOUD_PROFILE", "nope")], &h)));
    assert!(
        e.contains("no profile \"nope\" (named by ALICLOUD_PROFILE)"),
        "{e}"
    );
}

#[test]
fn environment_keys_beat_the_file_but_not_an_explicit_profile() {
    let h = home(Some(ALL_MODES));
    let vars = [
        ("ALICLOUD_ACCESS_KEY_ID", "LTAIenvKeyId"),
        ("ALICLOUD_ACCESS_KEY_SECRET", "hush-env"),
        ("ALIBABA_CLOUD_PROFILE", "sts"),
    ];
    assert_eq!(
        static_of(resolve(&chain(&vars, &h))).access_key_id,
        "LTAIenvKeyId"
    );
    let ch = chain(&vars, &h).profile("default".into());
    assert_eq!(static_of(resolve(&ch)).access_key_id, "LTAIfileDefault01");
}

#[test]
fn explicit_profile_missing() {
    // No file at all.
    let h = home(None);
    let e = err_of(resolve(&chain(&[], &h).profile("prod".into())));
    assert!(e.contains("profile \"prod\""), "{e}");
    assert!(
        e.contains(&config_path(&h)) && e.contains("does not exist"),
        "{e}"
    );

    // A file without that profile: the names found are listed.
    let h = home(Some(ALL_MODES));
    let e = err_of(resolve(&chain(&[], &h).profile("prod".into())));
    assert!(e.contains("no profile \"prod\""), "{e}");
    assert!(e.contains(&config_path(&h)), "{e}");
    for name in ["\"default\"", "\"sts\"", "\"role\"", "\"ecs\"", "\"weird\""] {
        assert!(e.contains(name), "{name} not in {e}");
    }

    // An empty file object.
    let h = home(Some("{}"));
    let e = err_of(resolve(&chain(&[], &h).profile("prod".into())));
    assert!(e.contains("the profiles found are: (none)"), "{e}");

    // No home and no file given.
    let e = err_of(resolve(
        &CredentialChain::with_env(HashMap::new(), None).profile("prod".into()),
    ));
    assert!(e.contains("no home directory"), "{e}");
}

#[test]
fn profile_file_overrides_the_home_file() {
    let h = home(Some(ALL_MODES));
    let other = tempfile::tempdir().unwrap();
    let path = other.path().join("creds.json");
    fs::write(
        &path,
        r#"{"current":"x","profiles":[{"name":"x","mode":"AK","access_key_id":"LTAIotherFileKeyId","access_key_secret":"hush-other","region_id":"eu-central-1"}]}"#,
    )
    .unwrap();
    let ch = chain(&[], &h).profile_file(path.clone());
    assert_eq!(ch.profile_file_path(), Some(path.clone()));
    assert_eq!(static_of(resolve(&ch)).access_key_id, "LTAIotherFileKeyId");
    assert!(ch.describe().contains(&path.display().to_string()));
    assert_eq!(default_region(&ch).as_deref(), Some("eu-central-1"));
    // Works without a home, too.
    let ch = CredentialChain::with_env(HashMap::new(), None).profile_file(path);
    assert_eq!(static_of(resolve(&ch)).access_key_id, "LTAIotherFileKeyId");
}

#[test]
fn a_named_profile_file_is_the_only_source() {
    // The host's environment has keys and names a profile; a chain told to read a file uses the
    // file's current profile, never those.
    let h = home(Some(ALL_MODES));
    let other = tempfile::tempdir().unwrap();
    let path = other.path().join("creds.json");
    fs::write(
        &path,
        r#"{"current":"x","profiles":[{"name":"x","mode":"AK","access_key_id":"LTAIotherFileKeyId","access_key_secret":"hush-other"},
           {"name":"sts","mode":"AK","access_key_id":"LTAIotherFileSts","access_key_secret":"hush-other-sts"}]}"#,
    )
    .unwrap();
    let vars = [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIenvKeyId"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "hush-env"),
        ("ALIBABA_CLOUD_PROFILE", "sts"),
    ];
    let ch = chain(&vars, &h).profile_file(path.clone());
    assert_eq!(static_of(resolve(&ch)).access_key_id, "LTAIotherFileKeyId");
    // A file that does not exist, or names no profile, is an error: never the environment.
    let missing = chain(&vars, &h).profile_file(other.path().join("nope.json"));
    let e = err_of(resolve(&missing));
    assert!(e.contains("nope.json"), "{e}");
    assert!(!e.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"), "{e}");
    fs::write(&path, r#"{"profiles":[{"name":"y","mode":"AK","access_key_id":"LTAIy","access_key_secret":"hush-y"}]}"#).unwrap();
    let e = err_of(resolve(&chain(&vars, &h).profile_file(path.clone())));
    assert!(e.contains("no current profile"), "{e}");
    // With a role to assume, the base keys come from the file too.
    fs::write(&path, r#"{"current":"x","profiles":[{"name":"x","mode":"AK","access_key_id":"LTAIotherFileKeyId","access_key_secret":"hush-other"}]}"#).unwrap();
    let ch = chain(&vars, &h)
        .profile_file(path)
        .role_arn("acs:ram::1:role/r".into(), None, None);
    match resolve(&ch).unwrap() {
        CredentialSource::RamRoleArn { base, .. } => {
            assert_eq!(base.access_key_id, "LTAIotherFileKeyId")
        }
        other => panic!("{other:?}"),
    }
    // Without a profile file, the environment still comes before the home file.
    assert_eq!(
        static_of(resolve(&chain(&vars, &h))).access_key_id,
        "LTAIenvKeyId"
    );
}

#[test]
fn malformed_profile_file() {
    let bad = r#"{"current":"default","profiles":[{"name":"default","mode":"AK","access_key_id":"LTAIbadFile","access_key_secret":"hush-bad-file",}]}"#;
    let h = home(Some(bad));
    for ch in [chain(&[], &h), chain(&[], &h).profile("default".into())] {
        let e = err_of(resolve(&ch));
        assert!(e.contains(&config_path(&h)), "{e}");
        assert!(
            e.contains("malformed") && e.contains("line 1 column"),
            "{e}"
        );
        // The region falls back to nothing rather than failing.
        assert_eq!(default_region(&ch), None);
    }
    // A type mismatch where the value is a secret: the field is named, the value is not.
    let h = home(Some(
        r#"{"profiles":[{"name":"p","mode":"AK","access_key_id":"LTAIx","access_key_secret":{"v":"hush-nested"}}]}"#,
    ));
    let e = err_of(resolve(&chain(&[], &h).profile("p".into())));
    assert!(e.contains("\"access_key_secret\" is not a string"), "{e}");
    // The environment's keys are checked before a malformed file is read.
    let h = home(Some(bad));
    let ch = chain(
        &[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIenvKeyId"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "hush-e"),
        ],
        &h,
    );
    assert_eq!(static_of(resolve(&ch)).access_key_id, "LTAIenvKeyId");
}

// ---------------------------------------------------------------- role_arn

#[test]
fn explicit_role_arn_wraps_static_keys() {
    let h = home(Some(ALL_MODES));
    let ch = chain(
        &[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIenvKeyId"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "hush-env"),
        ],
        &h,
    )
    .role_arn("acs:ram::999:role/reader".into(), None, None);
    match resolve(&ch).unwrap() {
        CredentialSource::RamRoleArn {
            base,
            role_arn,
            session_name,
            duration_seconds,
            ..
        } => {
            assert_eq!(base.access_key_id, "LTAIenvKeyId");
            assert_eq!(role_arn, "acs:ram::999:role/reader");
            assert_eq!(session_name, "alicloud-api");
            assert_eq!(duration_seconds, 3600);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ch.describe(),
        "environment variables ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, \
         assuming role acs:ram::999:role/reader"
    );

    // Explicit STS keys with a session name and duration; the token stays on the base.
    let ch = chain(&[], &h)
        .explicit_keys("STS.k".into(), "hush-k".into(), Some("hush-k-token".into()))
        .role_arn(
            "acs:ram::999:role/reader".into(),
            Some("me".into()),
            Some(900),
        );
    match resolve(&ch).unwrap() {
        CredentialSource::RamRoleArn {
            base,
            session_name,
            duration_seconds,
            ..
        } => {
            assert!(base.security_token.is_some());
            assert_eq!(session_name, "me");
            assert_eq!(duration_seconds, 900);
        }
        other => panic!("{other:?}"),
    }

    // A StsToken profile as the base.
    let ch = chain(&[], &h).profile("sts".into()).role_arn(
        "acs:ram::999:role/reader".into(),
        None,
        Some(7200),
    );
    assert!(matches!(
        resolve(&ch).unwrap(),
        CredentialSource::RamRoleArn {
            duration_seconds: 7200,
            ..
        }
    ));
}

#[test]
fn explicit_role_arn_needs_static_keys_and_a_sane_duration() {
    let h = home(Some(ALL_MODES));
    for (profile, kind) in [("ecs", "EcsRamRole"), ("role", "RamRoleArn")] {
        let ch = chain(&[], &h).profile(profile.into()).role_arn(
            "acs:ram::999:role/reader".into(),
            None,
            None,
        );
        let e = err_of(resolve(&ch));
        assert!(
            e.contains("cannot assume role acs:ram::999:role/reader"),
            "{e}"
        );
        assert!(e.contains(kind), "{e}");
        assert!(e.contains(&format!("profile \"{profile}\"")), "{e}");
    }
    let ch = chain(&[], &h).role_arn("acs:ram::999:role/reader".into(), None, Some(899));
    let r = resolve(&ch);
    assert!(matches!(r, Err(Error::Config { .. })), "{r:?}");
    assert!(err_of(r).contains("899 s is too short"));
    let r = resolve(&chain(&[], &h).role_arn("  ".into(), None, None));
    assert!(matches!(r, Err(Error::Config { .. })), "{r:?}");
    // The base's own errors come first.
    let e = err_of(resolve(
        &chain(&[("ALICLOUD_ACCESS_KEY", "LTAIx")], &h).role_arn(
            "acs:ram::1:role/r".into(),
            None,
            None,
        ),
    ));
    assert!(e.contains("access key secret is missing"), "{e}");
}

// ---------------------------------------------------------------- nothing found

#[test]
fn nothing_found_lists_every_place_looked_at() {
    let h = home(None);
    let r = resolve(&chain(&[("ALIBABA_CLOUD_REGION_ID", "cn-hangzhou")], &h));
    assert!(matches!(r, Err(Error::Credentials { .. })), "{r:?}");
    let e = err_of(r);
    assert!(e.contains("no Alibaba Cloud credentials found"), "{e}");
    assert!(e.contains("explicit keys (none given)"), "{e}");
    for var in NOTES_ID_VARS
        .iter()
        .chain(&NOTES_SECRET_VARS)
        .chain(&NOTES_PROFILE_VARS)
    {
        assert!(e.contains(var), "{var} not in {e}");
    }
    assert!(
        e.contains(&format!("{} (not found)", config_path(&h))),
        "{e}"
    );

    // A profile variable with no file: skipped, and said.
    let e = err_of(resolve(&chain(&[("ALIBABACLOUD_PROFILE", "prod")], &h)));
    assert!(
        e.contains("the profile \"prod\" named by ALIBABACLOUD_PROFILE"),
        "{e}"
    );
    assert!(e.contains("(not found)"), "{e}");

    // No home.
    let e = err_of(resolve(&CredentialChain::with_env(HashMap::new(), None)));
    assert!(e.contains("no home directory"), "{e}");

    // A file with neither current nor default.
    let h = home(Some(
        r#"{"profiles":[{"name":"a","mode":"AK"},{"name":"b","mode":"AK"}]}"#,
    ));
    let e = err_of(resolve(&chain(&[], &h)));
    assert!(
        e.contains("no current profile and no profile named \"default\""),
        "{e}"
    );
    assert!(e.contains("\"a\", \"b\""), "{e}");
    assert!(e.contains(&config_path(&h)), "{e}");
}

// ---------------------------------------------------------------- formatting

#[test]
fn nothing_anywhere_shows_a_secret() {
    let h = home(Some(ALL_MODES));
    let full_env = [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIenvKeyId"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "hush-env-secret"),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", "hush-env-token"),
        ("ALIBABA_CLOUD_REGION_ID", "cn-shanghai"),
        ("ALIBABA_CLOUD_PROFILE", "sts"),
        // Not read by the chain, dropped at once.
        ("UNRELATED_PASSWORD", "hush-unrelated"),
    ];
    let mut chains = vec![
        chain(&full_env, &h),
        chain(&full_env, &h).explicit_keys(
            "LTAIexplicit".into(),
            "hush-x".into(),
            Some("hush-xt".into()),
        ),
        chain(&full_env, &h).explicit_keys(
            "LTAIexplicit".into(),
            String::new(),
            Some("hush-xt".into()),
        ),
        chain(&full_env, &h).explicit_key_parts(None, Some("hush-only".into()), None),
        chain(&full_env, &h).role_arn("acs:ram::1:role/r".into(), Some("s".into()), Some(100)),
        chain(&[("ALICLOUD_SECRET_KEY", "hush-lonely")], &h),
        chain(
            &[("ALICLOUD_SECURITY_TOKEN", "hush-token-alone")],
            &home(None),
        ),
        CredentialChain::with_env(env(&full_env), None).profile("x".into()),
    ];
    for name in [
        "default",
        "sts",
        "role",
        "role-defaults",
        "ecs",
        "ecs-any",
        "weird",
        "short",
        "ak-no-secret",
        "sts-no-token",
        "missing",
    ] {
        chains.push(chain(&[], &h).profile(name.into()));
        chains.push(chain(&[], &h).profile(name.into()).role_arn(
            "acs:ram::1:role/r".into(),
            None,
            None,
        ));
    }
    let mut seen_ok = 0;
    let mut seen_err = 0;
    for ch in &chains {
        // `resolve` checks the chain, the source or error, and the description.
        match resolve(ch) {
            Ok(_) => seen_ok += 1,
            Err(_) => seen_err += 1,
        }
        assert_clean("default_region", &format!("{:?}", default_region(ch)));
    }
    assert!(
        seen_ok >= 8 && seen_err >= 8,
        "{seen_ok} ok, {seen_err} errors"
    );
    // The chain keeps only the variables it reads.
    let dbg = format!("{:?}", chains[0]);
    assert!(!dbg.contains("UNRELATED_PASSWORD"), "{dbg}");
    assert!(dbg.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET"), "{dbg}");
    // Key ids are masked in the chain's own formatting.
    assert!(!format!("{:?} {}", chains[1], chains[1]).contains("LTAIexplicit"));
}

#[test]
fn from_process_env_does_not_panic() {
    let ch = CredentialChain::from_process_env();
    let _ = format!("{ch:?} {ch}");
}
