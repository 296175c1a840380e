//! Where a product's API lives for a region.

use crate::error::{Error, Result};

/// Regions whose ActionTrail API is served by the central endpoint `actiontrail.aliyuncs.com`.
const ACTIONTRAIL_CENTRAL_REGIONS: &[&str] = &[
    "cn-wuhan",
    "cn-fujian",
    "cn-edge-1",
    "cn-beijing-finance-1",
    "cn-shenzhen-finance-1",
    "cn-hangzhou-finance",
];

/// The product an endpoint serves; it decides the default host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    ActionTrail,
    Sts,
}

/// An endpoint: the product's default, or a URL template that may contain `{region}`.
/// A template without `{region}` sends every region to the same URL; the region is then told only by
/// the `RegionId` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Default(Product),
    Template(String),
}

impl Endpoint {
    /// Checks a user-given template: `http://` or `https://`, a host, no placeholder but `{region}`,
    /// no query string.
    pub fn parse(template: &str) -> Result<Endpoint> {
        let t = template.trim();
        let rest = t
            .strip_prefix("https://")
            .or_else(|| t.strip_prefix("http://"))
            .ok_or_else(|| {
                Error::config(format!(
                    "endpoint \"{t}\" must start with https:// (or http:// for a local test server)"
                ))
            })?;
        let host = rest.split('/').next().unwrap_or("");
        if host.is_empty() {
            return Err(Error::config(format!("endpoint \"{t}\" has no host")));
        }
        if t.contains('?') || t.contains('#') {
            return Err(Error::config(format!(
                "endpoint \"{t}\" must not contain a query string or fragment"
            )));
        }
        let without_placeholder = t.replace("{region}", "");
        if without_placeholder.contains('{') || without_placeholder.contains('}') {
            return Err(Error::config(format!(
                "endpoint \"{t}\": the only placeholder allowed is {{region}}"
            )));
        }
        Ok(Endpoint::Template(t.to_string()))
    }

    /// The URL (without query) to send a request for `region` to.
    pub fn url(&self, region: &str) -> String {
        match self {
            Endpoint::Default(Product::ActionTrail) => {
                if ACTIONTRAIL_CENTRAL_REGIONS.contains(&region) {
                    "https://actiontrail.aliyuncs.com/".to_string()
                } else {
                    format!("https://actiontrail.{region}.aliyuncs.com/")
                }
            }
            Endpoint::Default(Product::Sts) => "https://sts.aliyuncs.com/".to_string(),
            Endpoint::Template(t) => {
                let url = t.replace("{region}", region);
                // A bare host gets the path "/", as the SDKs send.
                let after_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(&url);
                if after_scheme.contains('/') {
                    url
                } else {
                    format!("{url}/")
                }
            }
        }
    }
}

/// Checks the syntax of a region id (`cn-hangzhou`, `ap-southeast-1`, `cn-shanghai-finance-1`):
/// lower-case letters, then one or more `-`-separated groups of lower-case letters and digits.
/// Membership in a list is deliberately not checked: lists go stale when Alibaba opens regions.
pub fn validate_region_id(region: &str) -> Result<()> {
    let mut parts = region.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| p.len() >= 2 && p.bytes().all(|b| b.is_ascii_lowercase()));
    let mut rest = 0;
    let rest_ok = parts.all(|p| {
        rest += 1;
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if first_ok && rest_ok && rest >= 1 && region.len() <= 64 {
        Ok(())
    } else {
        Err(Error::config(format!(
            "\"{region}\" is not a valid region id (expected the form cn-hangzhou or ap-southeast-1)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_urls() {
        let e = Endpoint::Default(Product::ActionTrail);
        assert_eq!(
            e.url("cn-hangzhou"),
            "https://actiontrail.cn-hangzhou.aliyuncs.com/"
        );
        assert_eq!(e.url("cn-wuhan"), "https://actiontrail.aliyuncs.com/");
        assert_eq!(
            e.url("cn-hangzhou-finance"),
            "https://actiontrail.aliyuncs.com/"
        );
        assert_eq!(
            Endpoint::Default(Product::Sts).url("cn-beijing"),
            "https://sts.aliyuncs.com/"
        );
    }

    #[test]
    fn templates() {
        let e = Endpoint::parse("http://127.0.0.1:8080/{region}").unwrap();
        assert_eq!(e.url("cn-beijing"), "http://127.0.0.1:8080/cn-beijing");
        let e = Endpoint::parse("https://actiontrail-vpc.{region}.aliyuncs.com").unwrap();
        assert_eq!(
            e.url("cn-beijing"),
            "https://actiontrail-vpc.cn-beijing.aliyuncs.com/"
        );
        let e = Endpoint::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(e.url("cn-beijing"), "http://127.0.0.1:9/");
    }

    #[test]
    fn bad_templates() {
        for t in [
            "ftp://x",
            "actiontrail.aliyuncs.com",
            "https://",
            "https://x/{zone}",
            "https://x/?a=1",
        ] {
            assert!(Endpoint::parse(t).is_err(), "{t}");
        }
    }

    #[test]
    fn region_ids() {
        for ok in [
            "cn-hangzhou",
            "ap-southeast-1",
            "cn-shanghai-finance-1",
            "us-east-1",
        ] {
            validate_region_id(ok).unwrap();
        }
        for bad in [
            "",
            "cn",
            "CN-hangzhou",
            "cn_hangzhou",
            "cn-",
            "-cn",
            "cn--x",
            "1n-x",
            "cn-hangzhou ",
            "c-x",
        ] {
            assert!(validate_region_id(bad).is_err(), "{bad:?}");
        }
    }
}
