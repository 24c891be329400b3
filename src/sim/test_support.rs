//! Helpers for the simulator's HTTP tests: a reqwest client over real loopback that fetches
//! tokens and calls the API, returning status, headers and the JSON body. Test-only.

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use serde_json::Value;

use super::{SimConfig, SimHandle, spawn};

/// One answer as the tests look at it.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) body: Value,
    pub(super) text: String,
}

impl Reply {
    /// `exception.code` of an application error.
    pub(super) fn app_code(&self) -> Option<u64> {
        self.body["exception"]["code"].as_u64()
    }

    /// `response.message` of the envelope, else the top-level `message`.
    pub(super) fn message(&self) -> &str {
        self.body["response"]["message"]
            .as_str()
            .or_else(|| self.body["message"].as_str())
            .unwrap_or("")
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A client bound to one simulator.
pub(super) struct Http {
    pub(super) client: reqwest::Client,
    pub(super) base: String,
}

/// Spawns a simulator on 127.0.0.1:0 and a client for it.
pub(super) async fn start(config: SimConfig) -> (SimHandle, Http) {
    let sim = spawn(config).await.expect("simulator binds 127.0.0.1:0");
    let http = Http {
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("reqwest client"),
        base: sim.url(),
    };
    (sim, http)
}

impl Http {
    /// Sends a request and reads the whole answer.
    pub(super) async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request reaches the simulator");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("whole body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// POSTs a form body (already encoded) to the token path, with an optional Basic header.
    pub(super) async fn token_request(&self, form: &str, basic: Option<&str>) -> Reply {
        let mut request = self
            .client
            .post(format!("{}/iso/oauth2/token", self.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.to_owned());
        if let Some(basic) = basic {
            request = request.header(AUTHORIZATION, format!("Basic {basic}"));
        }
        self.send(request).await
    }

    /// Fetches a token with the default demo client.
    pub(super) async fn token(&self) -> String {
        let reply = self
            .token_request(
                "grant_type=client_credentials&client_id=demo&client_secret=demo-secret",
                None,
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// PUT or DELETE `path` with `Authorization: Bearer <token>` when given.
    pub(super) async fn call(&self, method: Method, path: &str, token: Option<&str>) -> Reply {
        self.send(self.request(method, path, token)).await
    }

    pub(super) fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        request
    }
}
