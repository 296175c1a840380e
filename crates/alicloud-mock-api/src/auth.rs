//! Who is calling: the common-parameter checks, signature verification, nonces, temporary keys.

use crate::errors::ApiFailure;
use crate::fixture::Fixture;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Mutex;

/// How far a request's Timestamp may be from the server's clock.
const MAX_SKEW: TimeDelta = TimeDelta::minutes(15);

/// The identity a key acts as.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub account_id: String,
    /// `Account`, `RAMUser` or `AssumedRoleUser`.
    pub identity_type: String,
    pub arn: String,
    pub principal_id: String,
    pub user_id: String,
    pub role_id: Option<String>,
    pub denied_actions: Vec<String>,
}

impl Identity {
    /// The identity of a role's temporary keys (AssumeRole, the ECS instance role).
    pub fn assumed_role(account: &str, role_name: &str, role_id: &str, session: &str) -> Identity {
        Identity {
            account_id: account.to_string(),
            identity_type: "AssumedRoleUser".into(),
            arn: format!("acs:ram::{account}:assumed-role/{role_name}/{session}"),
            principal_id: format!("{role_id}:{session}"),
            user_id: role_id.to_string(),
            role_id: Some(role_id.to_string()),
            denied_actions: Vec::new(),
        }
    }

    pub fn may_call(&self, action: &str) -> bool {
        if action == "GetCallerIdentity" {
            return true;
        }
        !self.denied_actions.iter().any(|a| a == "*" || a == action)
    }
}

/// A temporary key issued by AssumeRole or the ECS metadata service.
#[derive(Clone)]
pub(crate) struct TempCred {
    pub secret: String,
    pub token: String,
    pub expires: DateTime<Utc>,
    pub identity: Identity,
}

/// The last `capacity` (key id, nonce) pairs seen.
struct NonceSet {
    capacity: usize,
    seen: HashSet<(String, String)>,
    order: VecDeque<(String, String)>,
}

impl NonceSet {
    fn new(capacity: usize) -> NonceSet {
        NonceSet {
            capacity,
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Records the pair; false when it was already there.
    fn insert(&mut self, key_id: &str, nonce: &str) -> bool {
        let entry = (key_id.to_string(), nonce.to_string());
        if self.seen.contains(&entry) {
            return false;
        }
        if self.order.len() >= self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        self.seen.insert(entry.clone());
        self.order.push_back(entry);
        true
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, nothing else.
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if s.len() != 20 || !s.ends_with('Z') {
        return None;
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
        .ok()
        .map(|t| t.and_utc())
}

pub(crate) fn format_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Random characters from `alphabet` (uuid v4 is the randomness source).
pub(crate) fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in uuid::Uuid::new_v4().as_bytes() {
            if out.len() == len {
                break;
            }
            out.push(alphabet[*b as usize % alphabet.len()] as char);
        }
    }
    out
}

pub(crate) const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Base64 characters: tokens with `+`, `/` and `=` exercise the client's percent-encoding.
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The keys the mock hands out and the nonces it has seen.
pub(crate) struct Keys {
    nonces: Mutex<NonceSet>,
    /// Temporary keys issued (AssumeRole, ECS metadata), by access key id.
    temporary: Mutex<HashMap<String, TempCred>>,
    /// Fixture keys revoked since the start (the admin endpoint): they are answered as unknown.
    revoked: Mutex<std::collections::HashSet<String>>,
}

impl Keys {
    pub fn new() -> Keys {
        Keys {
            nonces: Mutex::new(NonceSet::new(100_000)),
            temporary: Mutex::new(HashMap::new()),
            revoked: Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// Revokes (or, with `revoked` false, restores) the fixture key `key_id`: from now on a
    /// request signed with it is answered as with a deleted key.
    pub fn set_revoked(&self, key_id: &str, revoked: bool) {
        let mut set = self.revoked.lock().unwrap();
        if revoked {
            set.insert(key_id.to_string());
        } else {
            set.remove(key_id);
        }
    }

    fn is_revoked(&self, key_id: &str) -> bool {
        self.revoked.lock().unwrap().contains(key_id)
    }

    /// Issues a temporary key for `identity`, valid for `lifetime_secs`.
    pub fn issue(&self, identity: Identity, lifetime_secs: u64) -> (String, TempCred) {
        let now = Utc::now();
        // Whole seconds, so the Expiration string and the check agree exactly.
        let now = now - TimeDelta::nanoseconds(now.timestamp_subsec_nanos() as i64);
        let id = format!("STS.{}", random_string(25, ALNUM));
        let cred = TempCred {
            secret: random_string(44, ALNUM),
            token: format!("CAIS{}=", random_string(255, B64)),
            expires: now + TimeDelta::seconds(lifetime_secs.min(i64::MAX as u64 / 2) as i64),
            identity,
        };
        let mut creds = self.temporary.lock().unwrap();
        // Forget keys that expired more than a day ago (they would answer NotFound instead of
        // Expired).
        creds.retain(|_, c| c.expires + TimeDelta::days(1) > now);
        creds.insert(id.clone(), cred.clone());
        (id, cred)
    }

    /// Ends the life of every temporary key issued so far, now: each answers
    /// `InvalidSecurityToken.Expired` from then on, whatever expiry its holder was told (a
    /// revoked session, or a clock that ran ahead). Returns how many there were.
    pub fn expire_all(&self) -> usize {
        let now = Utc::now();
        let mut creds = self.temporary.lock().unwrap();
        for c in creds.values_mut() {
            c.expires = c.expires.min(now);
        }
        creds.len()
    }

    /// The temporary key `id`, if the mock issued it.
    pub fn temporary(&self, id: &str) -> Option<TempCred> {
        self.temporary.lock().unwrap().get(id).cloned()
    }

    /// Records a request's nonce; false when the key used it already.
    fn first_use(&self, key_id: &str, nonce: &str) -> bool {
        self.nonces.lock().unwrap().insert(key_id, nonce)
    }
}

/// The common parameters that every request must carry, in the order they are checked.
const REQUIRED_AFTER_VERSION: &[&str] =
    &["AccessKeyId", "Signature", "SignatureNonce", "Timestamp"];

pub(crate) fn missing(name: &str) -> ApiFailure {
    ApiFailure::new(
        400,
        "MissingParameter",
        format!(
            "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
        ),
    )
}

/// Checks everything about the request's authentication and returns who is calling.
/// `Action` and `Version` were checked already.
pub(crate) fn authenticate(
    fixture: &Fixture,
    keys: &Keys,
    method: &str,
    params: &BTreeMap<String, String>,
) -> Result<Identity, ApiFailure> {
    for name in REQUIRED_AFTER_VERSION {
        if params.get(*name).is_none_or(|v| v.is_empty()) {
            return Err(missing(name));
        }
    }
    match params.get("SignatureMethod").map(String::as_str) {
        Some("HMAC-SHA1") => {}
        _ => {
            return Err(ApiFailure::new(
                400,
                "InvalidSignatureMethod",
                "Specified signature method is not supported.",
            ))
        }
    }
    match params.get("SignatureVersion").map(String::as_str) {
        Some("1.0") => {}
        _ => {
            return Err(ApiFailure::new(
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards.",
            ))
        }
    }
    let ts = parse_timestamp(&params["Timestamp"]).ok_or_else(|| {
        ApiFailure::new(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    let now = Utc::now();
    if (now - ts).abs() > MAX_SKEW {
        return Err(ApiFailure::new(
            400,
            "InvalidTimeStamp.Expired",
            format!(
                "Specified time stamp or date value is expired. The server time is {}.",
                format_timestamp(now)
            ),
        ));
    }

    let key_id = params["AccessKeyId"].as_str();
    let fixture_key = fixture
        .access_key(key_id)
        .filter(|_| !keys.is_revoked(key_id));
    let (secret, identity) = if let Some(key) = fixture_key {
        let identity = match key.identity_type.as_str() {
            "RAMUser" => {
                let user_id = key
                    .user_id
                    .clone()
                    .unwrap_or_else(|| "200000000000000000".into());
                let name = key.user_name.clone().unwrap_or_else(|| "mock-user".into());
                Identity {
                    account_id: key.account_id.clone(),
                    identity_type: "RAMUser".into(),
                    arn: format!("acs:ram::{}:user/{}", key.account_id, name),
                    principal_id: user_id.clone(),
                    user_id,
                    role_id: None,
                    denied_actions: key.denied_actions.clone(),
                }
            }
            _ => Identity {
                account_id: key.account_id.clone(),
                identity_type: "Account".into(),
                arn: format!("acs:ram::{}:root", key.account_id),
                principal_id: key.account_id.clone(),
                user_id: key.account_id.clone(),
                role_id: None,
                denied_actions: key.denied_actions.clone(),
            },
        };
        (key.access_key_secret.clone(), identity)
    } else {
        let temp = keys.temporary(key_id);
        let Some(temp) = temp else {
            return Err(ApiFailure::new(
                404,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
            ));
        };
        match params.get("SecurityToken") {
            Some(t) if *t == temp.token => {}
            _ => {
                return Err(ApiFailure::new(
                    400,
                    "InvalidSecurityToken.MismatchWithAccessKey",
                    "Specified SecurityToken mismatch with the AccessKey.",
                ))
            }
        }
        if Utc::now() >= temp.expires {
            return Err(ApiFailure::new(
                400,
                "InvalidSecurityToken.Expired",
                "Specified SecurityToken is expired.",
            ));
        }
        (temp.secret, temp.identity)
    };

    if !alicloud_api::signer::verify(method, params, &secret, &params["Signature"]) {
        let sts = alicloud_api::signer::string_to_sign(
            method,
            &alicloud_api::signer::canonicalized_query(params),
        );
        return Err(ApiFailure::new(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{sts}"
            ),
        ));
    }
    if !keys.first_use(key_id, &params["SignatureNonce"]) {
        return Err(ApiFailure::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert!(parse_timestamp("2024-05-01T08:30:00Z").is_some());
        for bad in [
            "2024-05-01T08:30:00.123Z",
            "2024-05-01 08:30:00Z",
            "2024-05-01T08:30:00",
            "2024-05-01T08:30:00+00:00",
            "1714552200",
            "2024-13-01T08:30:00Z",
        ] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn nonce_set_is_bounded() {
        let mut set = NonceSet::new(2);
        assert!(set.insert("k", "a"));
        assert!(!set.insert("k", "a"));
        assert!(set.insert("other", "a"));
        assert!(set.insert("k", "b"));
        // "k"/"a" was pushed out.
        assert!(set.insert("k", "a"));
    }

    #[test]
    fn random_strings() {
        let a = random_string(300, ALNUM);
        assert_eq!(a.len(), 300);
        assert_ne!(a, random_string(300, ALNUM));
    }
}
