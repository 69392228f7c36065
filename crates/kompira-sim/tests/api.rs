mod common;

use std::time::Duration;

use common::{get, post, sim, TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn raw(url: String, headers: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut req = common::http_builder().build().unwrap().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

fn no_redirects() -> reqwest::Client {
    common::http_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn auth_by_header_or_query() {
    let s = sim(None).await;
    let url = format!("{}/root", s.base_url);
    let accept = ("Accept", "application/json");
    // No credentials, or a scheme other than Token: 403, as Kompira answers.
    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    let (st, v) = raw(url.clone(), &[accept]).await;
    assert_eq!((st, v), (StatusCode::FORBIDDEN, forbidden.clone()));
    let bearer = format!("Bearer {TOKEN}");
    let (st, v) = raw(url.clone(), &[accept, ("Authorization", bearer.as_str())]).await;
    assert_eq!((st, v), (StatusCode::FORBIDDEN, forbidden));
    let (st, v) = raw(url.clone(), &[accept, ("Authorization", "Token nope")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(v, json!({"detail": "Invalid token."}));
    let (st, v) = raw(format!("{url}?token=nope"), &[accept]).await;
    assert_eq!((st, v["detail"].as_str()), (StatusCode::UNAUTHORIZED, Some("Invalid token.")));
    let good = format!("Token {TOKEN}");
    let (st, v) = raw(url.clone(), &[accept, ("Authorization", good.as_str())]).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["abspath"], "/root");
    let (st, _) = raw(format!("{url}?token={TOKEN}"), &[accept]).await;
    assert_eq!(st, StatusCode::OK);
    let lower = format!("token {TOKEN}");
    let (st, _) = raw(url.clone(), &[accept, ("Authorization", lower.as_str())]).await;
    assert_eq!(st, StatusCode::OK);
    s.shutdown().await;
}

#[tokio::test]
async fn json_only_when_asked() {
    let s = sim(None).await;
    let url = format!("{}/root?token={TOKEN}", s.base_url);
    let (st, v) = raw(url.clone(), &[]).await;
    assert_eq!(st, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(v, json!({"detail": "Could not satisfy the request Accept header."}));
    let (st, _) = raw(url.clone(), &[("Accept", "*/*")]).await;
    assert_eq!(st, StatusCode::NOT_ACCEPTABLE);
    let (st, _) = raw(url.clone(), &[("Accept", "text/html, application/json;q=0.9")]).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = raw(format!("{url}&format=json"), &[]).await;
    assert_eq!(st, StatusCode::OK);
    // A POST without JSON is the server's HTML side: a redirect to the object, nothing done
    // (not even authentication).
    let r = no_redirects()
        .post(format!("{}/system/channels/Alert.send", s.base_url))
        .json(&json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/system/channels/Alert");
    assert_eq!(s.stats().messages_per_channel["/system/channels/Alert"], 0);
    s.shutdown().await;
}

#[tokio::test]
async fn objects_and_not_found() {
    let s = sim(None).await;
    let (st, v) = get(&s, "/root/restart_process").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["type_object"], "/system/types/Jobflow");
    assert_eq!(v["parent_object"], "/root");
    assert_eq!(v["owner"], "root");
    assert!(v["fields"]["source"].is_string());
    assert!(v["created"].as_str().unwrap().ends_with('Z'));
    let (_, v) = get(&s, "/system/channels/Alert").await;
    assert_eq!(v["type_object"], "/system/types/Channel");
    assert_eq!(v["extra_properties"]["message_count"], 0);
    let (_, v) = get(&s, "/root").await;
    assert_eq!(v["parent_object"], "/");
    let (st, v) = get(&s, "/root/nothing_here").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v, json!({"detail": "Object \"/root/nothing_here\" is not found."}));
    let (st, v) = post(&s, "/root.execute", json!({})).await;
    assert_eq!((st, v), (StatusCode::BAD_REQUEST, json!({"detail": "Invalid attribute \"execute\" in request."})));
    // GET on a method shows the object.
    let (st, v) = get(&s, "/root/restart_process.execute").await;
    assert_eq!((st, &v["abspath"]), (StatusCode::OK, &json!("/root/restart_process")));
    let (st, v) = post(&s, "/root/restart_process.execute", json!("x")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["non_field_errors"].is_array());
    let r = common::http_builder()
        .build()
        .unwrap()
        .post(format!("{}/root/restart_process.execute?format=json&token={TOKEN}", s.base_url))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert!(v["detail"].as_str().unwrap().starts_with("JSON parse error - "), "{v}");
    s.shutdown().await;
}

#[tokio::test]
async fn descendant_is_paginated_and_filtered() {
    let s = sim(None).await;
    let (st, v) = get(&s, "/root.descendant?type_object=/system/types/Jobflow&page_size=3&order_by=-id").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["count"], 4);
    assert_eq!(v["results"].as_array().unwrap().len(), 3);
    assert!(v["previous"].is_null());
    let next = v["next"].as_str().unwrap();
    assert!(next.starts_with(&s.base_url) && next.contains("page=2") && next.contains("order_by=-id"), "{next}");
    let ids: Vec<i64> = v["results"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let (_, v2) = get(&s, "/root.descendant?type_object=/system/types/Jobflow&page_size=3&order_by=-id&page=2").await;
    assert_eq!(v2["results"].as_array().unwrap().len(), 1);
    assert!(v2["next"].is_null());
    assert!(!v2["previous"].as_str().unwrap().contains("page="));
    let (st, v) = get(&s, "/root.descendant?page=9").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v, json!({"detail": "Invalid page."}));
    let (_, v) = get(&s, "/root.descendant").await;
    let types: Vec<&str> =
        v["results"].as_array().unwrap().iter().map(|r| r["type_object"].as_str().unwrap()).collect();
    assert!(types.contains(&"/system/types/Directory") && types.contains(&"/system/types/Channel"));
    s.shutdown().await;
}

#[tokio::test]
async fn execute_runs_to_done() {
    let s = sim(None).await;
    let (st, p) =
        post(&s, "/root/restart_process.execute", json!({"parameters": {"host": "'web1'"}, "monitoring_mode": "MAIL"}))
            .await;
    assert_eq!(st, StatusCode::OK);
    let p = p.as_str().unwrap().to_string();
    assert!(p.starts_with("/process/id_"));
    let (_, v) = get(&s, &p).await;
    assert!(["NEW", "READY", "RUNNING"].contains(&v["status"].as_str().unwrap()));
    assert!(v["exit_status"].is_null() && v["finished_time"].is_null());
    let (st, v) = post(&s, &format!("{p}.wait"), json!({"timeout": 5})).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["status"], "DONE");
    assert_eq!(v["exit_status"], 0);
    assert_eq!(v["result"], "restarted on web1");
    assert_eq!(v["console"], "connecting to web1\nrestarted\n");
    assert_eq!(v["job"], "/root/restart_process");
    assert!(v["finished_time"].is_string());
    assert!(v["elapsed_time"].as_f64().unwrap() < 5.0, "seconds: {v}");
    assert_eq!(v["user"], "root");
    assert_eq!(v["error"], "");
    assert_eq!(v["lineno"], 2);
    let (_, l) = get(&s, "/process?status=DONE&job=/root/restart_process").await;
    assert_eq!(l["count"], 1);
    let (_, v) = post(&s, "/root/check_disk.execute", json!({})).await;
    let (_, v) = post(&s, &format!("{}.wait", v.as_str().unwrap()), json!({"timeout": 5})).await;
    assert_eq!(v["result"], json!({"host": "localhost", "mount": "/", "used_percent": 42, "ok": true}));
    s.shutdown().await;
}

#[tokio::test]
async fn execute_runs_to_aborted() {
    let s = sim(None).await;
    let (_, p) = post(&s, "/root/failing_job.execute", json!({})).await;
    let (_, v) = post(&s, &format!("{}.wait", p.as_str().unwrap()), json!({"timeout": 5})).await;
    assert_eq!(v["status"], "ABORTED");
    assert_eq!(v["exit_status"], 1);
    let error = "aborted at line 2 in /root/failing_job: simulated failure: no route to host";
    assert_eq!(v["error"], error);
    assert_eq!(v["result"], "");
    let console = v["console"].as_str().unwrap();
    assert!(console.starts_with(&format!("trying\ngiving up\n{error}\n---")), "{console}");
    s.shutdown().await;
}

#[tokio::test]
async fn execute_validates() {
    let s = sim(None).await;
    // A missing parameter aborts the run, as on the server.
    let (st, p) = post(&s, "/root/restart_process.execute", json!({})).await;
    assert_eq!(st, StatusCode::OK);
    let (_, v) = post(&s, &format!("{}.wait", p.as_str().unwrap()), json!({"timeout": 5})).await;
    assert_eq!(
        (&v["status"], &v["error"]),
        (&json!("ABORTED"), &json!("aborted at line 1 in /root/restart_process: Parameter 'host' is missing."))
    );
    // Parameters are expressions: a bare word is a variable, a space a syntax error.
    let (_, p) =
        post(&s, "/root/restart_process.execute", json!({"parameters": {"host": "web1", "undeclared": "x y"}})).await;
    let (_, v) = post(&s, &format!("{}.wait", p.as_str().unwrap()), json!({"timeout": 5})).await;
    assert_eq!(v["error"], "aborted at line 0 in /root/restart_process: Variable \"web1\" is not defined");
    let (st, v) = post(&s, "/root/restart_process.execute", json!({"parameters": {"host": "web 1"}})).await;
    assert_eq!(
        (st, v),
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "Compile parameter \"host\" error: Syntax error: Unexpected token: 1."})
        )
    );
    let (st, v) = post(&s, "/root/restart_process.execute", json!({"parameters": {"host": true}})).await;
    assert_eq!((st, v), (StatusCode::BAD_REQUEST, json!({"parameters": {"host": ["Not a valid string."]}})));
    let (st, v) =
        post(&s, "/root/restart_process.execute", json!({"parameters": {"host": "'a'"}, "monitoring_mode": "X"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v, json!({"monitoring_mode": ["\"X\" is not a valid choice."]}));
    let (st, v) =
        post(&s, "/root/restart_process.execute", json!({"parameters": {"host": "'a'"}, "step_mode": "maybe"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["step_mode"].is_array());
    s.shutdown().await;
}

#[tokio::test]
async fn wait_times_out_and_terminate_aborts() {
    let s = sim(None).await;
    let (_, p) = post(&s, "/root/slow_job.execute", json!({})).await;
    let p = p.as_str().unwrap().to_string();
    let t0 = std::time::Instant::now();
    let (st, v) = post(&s, &format!("{p}.wait"), json!({"timeout": 1})).await;
    assert_eq!((st, v), (StatusCode::REQUEST_TIMEOUT, Value::Null), "an empty 408");
    assert!(t0.elapsed() >= Duration::from_millis(900));
    let (_, v) = post(&s, &format!("{p}.suspend"), json!({})).await;
    assert_eq!(v, json!(true));
    let (_, v) = post(&s, &format!("{p}.resume"), json!({})).await;
    assert_eq!(v, json!(true));
    let waiter = {
        let (base, p) = (s.base_url.clone(), p.clone());
        tokio::spawn(async move {
            common::http_builder()
                .build()
                .unwrap()
                .post(format!("{base}{p}.wait?format=json&token={TOKEN}"))
                .json(&json!({"timeout": 30}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, v) = post(&s, &format!("{p}.terminate"), json!({})).await;
    assert_eq!(v, json!(true));
    let v = waiter.await.unwrap();
    assert_eq!(v["status"], "ABORTED");
    let error = v["error"].as_str().unwrap();
    assert!(
        error.starts_with("aborted at line ") && error.ends_with(" in /root/slow_job: terminated by user"),
        "{error}"
    );
    assert_ne!(v["exit_status"], 0);
    // As on the server: terminating a finished process says true and changes nothing.
    let (_, v) = post(&s, &format!("{p}.terminate"), json!({})).await;
    assert_eq!(v, json!(true));
    let (_, v) = get(&s, &p).await;
    assert_eq!(v["status"], "ABORTED");
    let (_, v) = post(&s, &format!("{p}.resume"), json!({})).await;
    assert_eq!(v, json!(false));
    let (st, _) = get(&s, &format!("{p}.wait")).await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    s.shutdown().await;
}

#[tokio::test]
async fn channel_send_recv_clear() {
    let s = sim(None).await;
    let ch = "/system/channels/Alert";
    for i in 0..3 {
        let (st, v) = post(&s, &format!("{ch}.send"), json!({"n": i})).await;
        assert_eq!((st, v), (StatusCode::OK, Value::Null), "an empty 200");
    }
    let (_, v) = get(&s, ch).await;
    assert_eq!(v["extra_properties"]["message_count"], 3);
    let (st, v) = post(&s, &format!("{ch}.recv"), json!({})).await;
    assert_eq!((st, v), (StatusCode::OK, json!({"n": 0})));
    let (_, v) = post(&s, &format!("{ch}.recv"), json!({"timeout": 1})).await;
    assert_eq!(v, json!({"n": 1}));
    let (st, v) = post(&s, &format!("{ch}.clear_messages"), json!({})).await;
    assert_eq!((st, v), (StatusCode::OK, Value::Null), "an empty 200");
    let (st, v) = post(&s, &format!("{ch}.recv"), json!({"timeout": 0})).await;
    assert_eq!((st, v), (StatusCode::REQUEST_TIMEOUT, Value::Null));
    assert_eq!(s.stats().messages_per_channel[ch], 0);
    // A bad timeout is Python's int() failing on the server: a 500 with its text.
    let (st, v) = post(&s, &format!("{ch}.recv"), json!({"timeout": "x"})).await;
    assert_eq!(
        (st, v),
        (StatusCode::INTERNAL_SERVER_ERROR, json!({"detail": "invalid literal for int() with base 10: 'x'"}))
    );
    // The body is the message: text/plain as a string, nothing as {}.
    let client = common::http_builder().build().unwrap();
    let send = format!("{}{ch}.send?format=json&token={TOKEN}", s.base_url);
    let r = client.post(&send).header("Content-Type", "text/plain").body("just text").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    client.post(&send).send().await.unwrap();
    let (_, v) = post(&s, &format!("{ch}.recv"), json!({})).await;
    assert_eq!(v, json!("just text"));
    let (_, v) = post(&s, &format!("{ch}.recv"), json!({})).await;
    assert_eq!(v, json!({}));
    s.shutdown().await;
}

#[tokio::test]
async fn concurrent_recv_waiters_get_distinct_messages() {
    let s = sim(None).await;
    let ch = "/root/channels/Desktop";
    let mut waiters = Vec::new();
    for _ in 0..3 {
        let (base, ch) = (s.base_url.clone(), ch.to_string());
        waiters.push(tokio::spawn(async move {
            common::http_builder()
                .build()
                .unwrap()
                .post(format!("{base}{ch}.recv?format=json&token={TOKEN}"))
                .json(&json!({"timeout": 10}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..3 {
        post(&s, &format!("{ch}.send"), json!(i)).await;
    }
    let mut got = Vec::new();
    for w in waiters {
        got.push(w.await.unwrap().as_i64().unwrap());
    }
    got.sort();
    assert_eq!(got, vec![0, 1, 2]);
    assert_eq!(s.stats().messages_per_channel[ch], 0);
    s.shutdown().await;
}

/// As on the server: a `.recv` whose client went away keeps waiting and takes the next
/// message into the closed connection.
#[tokio::test]
async fn recv_client_gone_loses_the_next_message() {
    let s = sim(None).await;
    let ch = "/root/channels/Desktop";
    let client = common::http_builder().timeout(Duration::from_millis(300)).build().unwrap();
    let r = client
        .post(format!("{}{ch}.recv?format=json&token={TOKEN}", s.base_url))
        .json(&json!({"timeout": 5}))
        .send()
        .await;
    assert!(r.is_err(), "the client gave up");
    tokio::time::sleep(Duration::from_millis(100)).await;
    post(&s, &format!("{ch}.send"), json!("lost")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (st, _) = post(&s, &format!("{ch}.recv"), json!({"timeout": 0})).await;
    assert_eq!(st, StatusCode::REQUEST_TIMEOUT, "the abandoned recv took it");
    assert_eq!(s.stats().messages_per_channel[ch], 0);
    s.shutdown().await;
}

#[tokio::test]
async fn stats_without_auth_on_localhost() {
    let s = sim(None).await;
    let v: Value = reqwest::get(format!("{}/_sim/stats", s.base_url)).await.unwrap().json().await.unwrap();
    assert_eq!(v["events_consumed"], 0);
    assert!(v["messages_per_channel"].get("/system/channels/Alert").is_some());
    s.shutdown().await;
}
