//! The default region, when a front end is given none: the region variables, else the
//! `region_id` of the current profile in the CLI profile file, as the official tools do. It reads
//! the same environment and file as the credential chain, but it is not a credential, so it lives
//! apart from the chain's steps.

use crate::credentials::{CredentialChain, ProfileFile};

/// The region `chain`'s environment and profile file name: the first region variable set, else
/// the `region_id` of the profile the chain would use (named, else named by the environment,
/// else the file's current one, else `default`). A file that cannot be read gives `None`.
pub fn default_region(chain: &CredentialChain) -> Option<String> {
    let (from_env, profile_file, profile) = chain.region_sources();
    if let Some(region) = from_env {
        return Some(region.to_string());
    }
    let file = ProfileFile::load(&profile_file?).ok()??;
    let name = profile
        .map(str::to_string)
        .or_else(|| file.current.clone())
        .unwrap_or_else(|| "default".to_string());
    file.get(&name)?.region_id.clone()
}
