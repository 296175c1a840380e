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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Product {
    /// ActionTrail, one endpoint per region.
    ActionTrail,
    /// STS, global (or per region on the VPC network).
    Sts,
    /// Resource Manager, global (its public endpoint on the VPC network too).
    ResourceManager,
}

/// An endpoint: the product's public default, its VPC endpoint, or a URL template that may
/// contain `{region}`. A template without `{region}` sends every region to the same URL; the
/// region is then told only by the `RegionId` parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// The public Internet endpoint of the product.
    Default(Product),
    /// The product's endpoint inside Alibaba Cloud's VPC network (`<product>-vpc.<region>...`).
    Vpc(Product),
    /// A checked URL template (see [`Endpoint::parse`]).
    Template(String),
}

impl Endpoint {
    /// Checks a user-given template: `http://` or `https://`, a host, a valid port, no user name
    /// or password, no placeholder but `{region}`, no query string or fragment.
    pub fn parse(template: &str) -> Result<Endpoint> {
        let t = template.trim();
        check_url(t, true)?;
        Ok(Endpoint::Template(t.to_string()))
    }

    /// A text that tells endpoints apart, the same in every process (a cache key's part).
    pub fn key(&self) -> String {
        let product = |p: &Product| match p {
            Product::ActionTrail => "actiontrail",
            Product::Sts => "sts",
            Product::ResourceManager => "resourcemanager",
        };
        match self {
            Endpoint::Default(p) => format!("default {}", product(p)),
            Endpoint::Vpc(p) => format!("vpc {}", product(p)),
            Endpoint::Template(t) => format!("template {t}"),
        }
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
            Endpoint::Vpc(Product::ActionTrail) => {
                format!("https://actiontrail-vpc.{region}.aliyuncs.com/")
            }
            Endpoint::Vpc(Product::Sts) => format!("https://sts-vpc.{region}.aliyuncs.com/"),
            Endpoint::Default(Product::ResourceManager)
            | Endpoint::Vpc(Product::ResourceManager) => {
                "https://resourcemanager.aliyuncs.com/".to_string()
            }
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

/// Checks a base URL given by a user (the ECS metadata service's): `http://` or `https://`, a
/// host, a valid port, no user name or password, no query string or fragment; `{region}` is not
/// allowed. Returns it without a trailing `/`.
pub fn parse_base_url(text: &str) -> Result<String> {
    let t = text.trim();
    check_url(t, false)?;
    Ok(t.trim_end_matches('/').to_string())
}

fn check_url(t: &str, region_placeholder: bool) -> Result<()> {
    let bad = |why: &str| Err(Error::config(format!("endpoint \"{t}\" {why}")));
    if !(t.starts_with("https://") || t.starts_with("http://")) {
        return bad("must start with https:// (or http:// for a local test server)");
    }
    if t.contains('?') || t.contains('#') {
        return bad("must not contain a query string or fragment");
    }
    let without_placeholder = if region_placeholder {
        t.replace("{region}", "")
    } else {
        t.to_string()
    };
    if without_placeholder.contains('{') || without_placeholder.contains('}') {
        return if region_placeholder {
            bad("may contain no placeholder but {region}")
        } else {
            bad("may not contain a placeholder")
        };
    }
    // Checked as the URL of a real region, so that `{region}` in the host parses.
    let sample = t.replace("{region}", "cn-hangzhou");
    let url = match url::Url::parse(&sample) {
        Ok(u) => u,
        Err(e) => return bad(&format!("is not a valid URL: {e}")),
    };
    if url.host_str().is_none_or(str::is_empty) {
        return bad("has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            "an endpoint must not hold a user name or password (user:password@host): \
             Alibaba Cloud APIs are authorised by the signature"
                .to_string(),
        ));
    }
    Ok(())
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
        assert_eq!(
            Endpoint::Vpc(Product::ActionTrail).url("cn-beijing"),
            "https://actiontrail-vpc.cn-beijing.aliyuncs.com/"
        );
        assert_eq!(
            Endpoint::Vpc(Product::Sts).url("cn-beijing"),
            "https://sts-vpc.cn-beijing.aliyuncs.com/"
        );
    }

    #[test]
    fn bad_templates() {
        for t in [
            "ftp://x",
            "actiontrail.aliyuncs.com",
            "https://",
            "https://x/{zone}",
            "https://x/?a=1",
            "https://x/#frag",
            "http://127.0.0.1:99999/",
            "http://host:port/",
        ] {
            assert!(Endpoint::parse(t).is_err(), "{t}");
        }
        // A password is refused, and the message does not repeat it.
        let e = Endpoint::parse("https://user:hunter2@example.com/{region}").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(Endpoint::parse("https://user@example.com/").is_err());
        assert_eq!(
            parse_base_url("http://100.100.100.200/").unwrap(),
            "http://100.100.100.200"
        );
        assert!(parse_base_url("http://100.100.100.200/{region}").is_err());
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
