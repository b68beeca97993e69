//! The full OpenID Connect code flow through Trygg's own login pages, against
//! the real npm `oidc-provider` (crates/oidc/tests/provider).

use crate::kit::*;
use reqwest::header::{DATE, LOCATION, SET_COOKIE};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use trygg_domain::ManualClock;
use trygg_oidc::{ProviderConfig, Secret};

const CLIENT_ID: &str = "trygg-it";

struct Provider {
    issuer: String,
    _child: tokio::process::Child,
}

async fn provider(redirect_uri: &str, secret: &str) -> Provider {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = std::process::Command::new("bash")
        .arg(root.join("scripts/oidc-provider-setup.sh"))
        .status()
        .unwrap();
    assert!(status.success(), "scripts/oidc-provider-setup.sh failed");
    let mut child = tokio::process::Command::new("node")
        .arg("provider.mjs")
        .args(["0", CLIENT_ID, secret, redirect_uri, "ES256"])
        .current_dir(root.join("crates/oidc/tests/provider"))
        .env("PROVIDER_EXIT_WITH_STDIN", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node (Node.js) is needed for the OIDC tests");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let issuer = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("LISTENING ") {
                return url.trim().to_owned();
            }
        }
        panic!("the provider exited before listening");
    })
    .await
    .expect("the provider did not start");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Provider {
        issuer,
        _child: child,
    }
}

/// The test clock follows the provider's (real) time: ID tokens carry it.
async fn clock_of(issuer: &str) -> ManualClock {
    let res = reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
        .await
        .unwrap();
    let date = res.headers()[DATE].to_str().unwrap().to_owned();
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    ManualClock::new(
        time::PrimitiveDateTime::parse(&date, format)
            .unwrap()
            .assume_utc(),
    )
}

on_both_backends! {
    async fn citizens_log_in_through_an_openid_provider(backend) {
        let port = free_port();
        let callback = format!("http://127.0.0.1:{port}/login/oidc/callback");
        let secret = trygg_auth::Token::generate().unwrap().expose().to_owned();
        let idp = provider(&callback, &secret).await;
        let clock = clock_of(&idp.issuer).await;
        let mut config = ProviderConfig::new("test-broker", &idp.issuer, CLIENT_ID, Some(Secret::new(&secret)), &callback);
        config.display_name = "Testlegitimation".into();
        let app = TestApp::spawn_with(backend, clock, &format!("127.0.0.1:{port}"), vec![config]).await;
        let t = tenant(&app.store, "212000-9994").await;
        let mut tx = app.store.begin().await.unwrap();
        let number = trygg_domain::IdentityNumber::parse_canonical("191212121212").unwrap();
        tx.add_person(t.id, &person("Tolvan", "Tolvansson", number), false).await.unwrap();
        tx.commit().await.unwrap();

        let trygg = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut cookies: Vec<String> = Vec::new();
        let keep = |cookies: &mut Vec<String>, res: &reqwest::Response| {
            for c in res.headers().get_all(SET_COOKIE) {
                let pair = c.to_str().unwrap().split(';').next().unwrap().to_owned();
                let name = pair.split('=').next().unwrap().to_owned();
                cookies.retain(|x| !x.starts_with(&format!("{name}=")));
                if !c.to_str().unwrap().contains("Max-Age=0") {
                    cookies.push(pair);
                }
            }
        };
        let login = trygg.get(format!("{}/login", app.base)).send().await.unwrap();
        keep(&mut cookies, &login);
        let csp = login.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains(&format!("form-action 'self' {}", idp.issuer)), "{csp}");
        let html = login.text().await.unwrap();
        assert!(html.contains("Testlegitimation"), "{html}");
        let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let res = trygg
            .post(format!("{}/login/start", app.base))
            .header("cookie", cookies.join("; "))
            .header("origin", &app.base)
            .form(&[("csrf", csrf.as_str()), ("method", "oidc:test-broker"), ("audience", "citizen"), ("return", "/")])
            .send()
            .await
            .unwrap();
        keep(&mut cookies, &res);
        assert_eq!(res.status(), 303);
        let authorize = trygg_oidc::Url::parse(res.headers()[LOCATION].to_str().unwrap()).unwrap();
        assert!(authorize.as_str().starts_with(&idp.issuer), "{authorize}");
        let pairs: Vec<(String, String)> = authorize.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
        for needed in ["state", "nonce", "code_challenge"] {
            assert!(pairs.iter().any(|(k, _)| k == needed), "{needed} in {authorize}");
        }
        assert!(pairs.contains(&("code_challenge_method".into(), "S256".into())));
        assert!(pairs.contains(&("acr_values".into(), "http://id.elegnamnden.se/loa/1.0/loa3".into())));

        // The person logs in at the provider (its own interaction pages).
        let browser = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut url = authorize;
        let mut back = None;
        for _ in 0..12 {
            let mut r = browser.get(url.clone()).send().await.unwrap();
            if r.status() == 200 && url.path().starts_with("/interaction/") {
                let post = url.join(&format!("{}/login", url.path())).unwrap();
                r = browser.post(post).form(&[("login", "19121212-1212")]).send().await.unwrap();
            }
            let next = url.join(r.headers()[LOCATION].to_str().unwrap()).unwrap();
            if next.as_str().starts_with(&callback) {
                back = Some(next);
                break;
            }
            url = next;
        }
        let back = back.expect("the provider sent the browser back");

        // Back at Trygg: the callback starts the session.
        let res = trygg.get(back.as_str()).header("cookie", cookies.join("; ")).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()[LOCATION], "/");
        keep(&mut cookies, &res);
        let home = trygg.get(format!("{}/", app.base)).header("cookie", cookies.join("; ")).send().await.unwrap();
        assert_eq!(home.status(), 200);
        let home = home.text().await.unwrap();
        assert!(home.contains("Tolvan Tolvansson") && home.contains("oidc") && home.contains("test-broker") && home.contains("loa3"), "{home}");

        // The same callback again (a replay) starts nothing.
        let replay = trygg.get(back.as_str()).header("cookie", cookies.iter().filter(|c| !c.starts_with("__Host-trygg-session")).cloned().collect::<Vec<_>>().join("; ")).send().await.unwrap();
        assert_eq!(replay.headers()[LOCATION], "/login?error=expired");
        assert!(replay.headers().get_all(SET_COOKIE).iter().all(|c| !c.to_str().unwrap().starts_with("__Host-trygg-session=") || c.to_str().unwrap().contains("Max-Age=0")));
    }
}
