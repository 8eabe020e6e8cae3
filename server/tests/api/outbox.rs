//! The mail outbox: messages are queued with the change that sends them, delivered at once,
//! retried on schedule when the transport fails, abandoned after the last try, and sent once
//! however many workers run.

use std::{path::Path, sync::Arc};

use sqlx::Row;
use tally_core::roles::Role;
use tally_services::platform::mail::{
    outbox::{Delivery, Outbox, RETRY_MINUTES},
    Attachment, Mail, Mailer,
};

use crate::{
    both_databases,
    helpers::{find_link, TestApp},
};

fn message(to: &str) -> Mail {
    Mail {
        id: None,
        to: to.into(),
        subject: "Hello".into(),
        text: "A one-time link: http://127.0.0.1/secret-link".into(),
        html: "<p>A one-time link</p>".into(),
        attachments: Vec::new(),
        ..Mail::default()
    }
}

/// Makes the folder transport fail (a file where its folder was), or work again.
fn break_folder(dir: &Path) {
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::write(dir, "not a folder").unwrap();
}

fn mend_folder(dir: &Path) {
    std::fs::remove_file(dir).unwrap();
    std::fs::create_dir(dir).unwrap();
}

fn eml_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

/// An outbox on the test's database and clock, writing to its own folder.
fn outbox_in(app: &TestApp, dir: &Path) -> Outbox {
    let mailer = Mailer::outbox(dir.to_path_buf(), "Tally <tally@acme.test>").unwrap();
    Outbox::new(
        app.db.clone(),
        Arc::new(app.clock.clone()),
        tally_services::platform::crypto::Ids::new(),
        mailer,
    )
}

async fn row(app: &TestApp, to: &str) -> sqlx::any::AnyRow {
    sqlx::query(
        "SELECT attempts, next_attempt_at, sent_at, failed_at, last_error, text_body, html_body \
         FROM mail_outbox WHERE to_addr = $1",
    )
    .bind(to)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

both_databases! {
    async fn a_delivery_repeated_after_a_crash_replaces_its_file_and_keeps_its_message_id(app: TestApp) {
        let dir = app.outbox.parent().unwrap().join("box");
        let outbox = outbox_in(&app, &dir);
        let id = outbox.queue(&mut app.db.pool().acquire().await.unwrap(), &message("cy@acme.test")).await.unwrap();
        outbox.deliver_queued(&id).await;
        let file = dir.join(format!("{id}.eml"));
        let first = std::fs::read_to_string(&file).expect("the file is named by the message's id");
        let message_id = format!("Message-ID: <{id}@acme.test>");
        assert!(first.contains(&message_id), "{first}");
        // A crash after the file was written and before the row said so: delivered again.
        sqlx::query("UPDATE mail_outbox SET sent_at = NULL, claimed_until = NULL WHERE id = $1")
            .bind(&id)
            .execute(app.db.pool())
            .await
            .unwrap();
        app.clock.advance_minutes(1);
        assert_eq!(outbox.deliver_due().await.unwrap(), 1);
        assert_eq!(eml_count(&dir), 1, "the second delivery replaced the first");
        assert!(std::fs::read_to_string(&file).unwrap().contains(&message_id));
    }

    async fn half_written_files_left_by_a_crash_are_removed_at_start(app: TestApp) {
        let dir = app.outbox.parent().unwrap().join("box");
        std::fs::create_dir_all(&dir).unwrap();
        let old = dir.join(".0123abcd.eml.x1.tmp");
        std::fs::write(&old, "half a message").unwrap();
        let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options().write(true).open(&old).unwrap().set_modified(an_hour_ago).unwrap();
        // One being written right now by another process sharing the folder stays.
        let fresh = dir.join(".4567cdef.eml.x2.tmp");
        std::fs::write(&fresh, "being written").unwrap();
        let _outbox = outbox_in(&app, &dir);
        assert!(!old.exists(), "a leftover from a crash is removed");
        assert!(fresh.exists(), "a file being written is left alone");
    }

    async fn a_failed_delivery_stays_queued_and_is_sent_when_its_retry_is_due(app: TestApp) {
        let dir = app.outbox.parent().unwrap().join("box");
        let outbox = outbox_in(&app, &dir);
        break_folder(&dir);
        let id = outbox.queue(&mut app.db.pool().acquire().await.unwrap(), &message("ann@acme.test")).await.unwrap();
        outbox.deliver_queued(&id).await; // fails; queued all the same
        let r = row(&app, "ann@acme.test").await;
        assert_eq!(r.get::<i32, _>("attempts"), 1);
        assert!(r.get::<Option<String>, _>("last_error").is_some());
        assert_eq!(r.get::<Option<i64>, _>("sent_at"), None);
        assert_eq!(r.get::<i64, _>("next_attempt_at"), app.clock_now() + RETRY_MINUTES[0] * 60_000);

        mend_folder(&dir);
        assert_eq!(outbox.deliver_due().await.unwrap(), 0, "not before its retry is due");
        assert_eq!(eml_count(&dir), 0);
        app.clock.advance_minutes(RETRY_MINUTES[0]);
        assert_eq!(outbox.deliver_due().await.unwrap(), 1);
        assert_eq!(eml_count(&dir), 1);
        let r = row(&app, "ann@acme.test").await;
        assert_eq!(r.get::<i32, _>("attempts"), 2);
        assert!(r.get::<Option<i64>, _>("sent_at").is_some());
        assert_eq!(r.get::<String, _>("text_body"), "", "a sent message keeps no body (it may hold a link)");
        assert_eq!(r.get::<String, _>("html_body"), "");
        app.clock.advance_minutes(60);
        assert_eq!(outbox.deliver_due().await.unwrap(), 0, "sent once");
        assert_eq!(eml_count(&dir), 1);
    }

    async fn attachments_wait_as_bytes_beside_their_message_and_go_when_it_is_sent_or_abandoned(app: TestApp) {
        use base64::Engine;
        let b64 = |data: &[u8]| base64::engine::general_purpose::STANDARD.encode(data);
        let dir = app.outbox.parent().unwrap().join("box");
        let outbox = outbox_in(&app, &dir);
        let pdf: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let mut sent = message("cy@acme.test");
        sent.attachments = vec![
            Attachment { filename: "invoice.pdf".into(), content_type: "application/pdf".into(), data: pdf.clone() },
            Attachment { filename: "invoice.xml".into(), content_type: "application/xml".into(), data: b"<Invoice/>".to_vec() },
        ];
        let files = |id: String| {
            let pool = app.db.pool().clone();
            async move {
                sqlx::query_as::<_, (String, Vec<u8>)>("SELECT filename, data FROM mail_attachments WHERE message_id = $1 ORDER BY position")
                    .bind(id)
                    .fetch_all(&pool)
                    .await
                    .unwrap()
            }
        };
        let id = outbox.queue(&mut app.db.pool().acquire().await.unwrap(), &sent).await.unwrap();
        // The bytes as they are, in their order; the message's row holds none of them.
        assert_eq!(files(id.clone()).await, vec![("invoice.pdf".into(), pdf.clone()), ("invoice.xml".into(), b"<Invoice/>".to_vec())]);
        let left: String = sqlx::query_scalar("SELECT attachments FROM mail_outbox WHERE id = $1").bind(&id).fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(left, "");
        outbox.deliver_queued(&id).await;
        let eml = std::fs::read_to_string(dir.join(format!("{id}.eml"))).unwrap().replace("\r\n", "");
        assert!(eml.contains("invoice.pdf") && eml.contains(&b64(&pdf)), "{eml}");
        assert!(eml.contains("invoice.xml") && eml.contains("<Invoice/>"), "{eml}");
        assert!(files(id).await.is_empty(), "a sent message's attachments go");

        // A message queued before attachments had their own table still goes with its own.
        sqlx::query(
            "INSERT INTO mail_outbox (id, to_addr, subject, text_body, html_body, attachments, created_at, next_attempt_at) \
             VALUES ('0123456789abcdef0123456789abcdef', 'old@acme.test', 'Your invoice', 'text', '<p>html</p>', $1, 0, 0)",
        )
        .bind(format!(r#"[{{"filename":"old.pdf","content_type":"application/pdf","base64":"{}"}}]"#, b64(&pdf)))
        .execute(app.db.pool())
        .await
        .unwrap();
        assert_eq!(outbox.deliver_due().await.unwrap(), 1);
        let eml = std::fs::read_to_string(dir.join("0123456789abcdef0123456789abcdef.eml")).unwrap().replace("\r\n", "");
        assert!(eml.contains("old.pdf") && eml.contains(&b64(&pdf)), "{eml}");

        // An abandoned message's go too.
        break_folder(&dir);
        let id = outbox.queue(&mut app.db.pool().acquire().await.unwrap(), &sent).await.unwrap();
        outbox.deliver_queued(&id).await;
        assert_eq!(files(id.clone()).await.len(), 2, "kept while it is retried");
        for minutes in RETRY_MINUTES {
            app.clock.advance_minutes(minutes);
            outbox.deliver_due().await.unwrap();
        }
        assert!(files(id).await.is_empty());
    }

    async fn a_message_is_abandoned_after_its_last_attempt(app: TestApp) {
        let dir = app.outbox.parent().unwrap().join("box");
        let outbox = outbox_in(&app, &dir);
        break_folder(&dir);
        let id = outbox.queue(&mut app.db.pool().acquire().await.unwrap(), &message("bo@acme.test")).await.unwrap();
        outbox.deliver_queued(&id).await;
        for minutes in RETRY_MINUTES {
            app.clock.advance_minutes(minutes);
            assert_eq!(outbox.deliver_due().await.unwrap(), 0);
        }
        let r = row(&app, "bo@acme.test").await;
        assert_eq!(r.get::<i32, _>("attempts"), RETRY_MINUTES.len() as i32 + 1);
        assert!(r.get::<Option<i64>, _>("failed_at").is_some());
        assert!(r.get::<Option<String>, _>("last_error").unwrap().contains("outbox"));
        assert_eq!(r.get::<String, _>("text_body"), "");
        // Not tried again, even once the transport works.
        mend_folder(&dir);
        app.clock.advance_minutes(24 * 60);
        assert_eq!(outbox.deliver_due().await.unwrap(), 0);
        assert_eq!(eml_count(&dir), 0);
    }

    async fn a_rolled_back_change_sends_nothing_and_a_committed_one_sends_once(app: TestApp) {
        let dir = app.outbox.parent().unwrap().join("box");
        let outbox = outbox_in(&app, &dir);
        let mut tx = app.db.pool().begin().await.unwrap();
        outbox.queue(&mut tx, &message("rolled@acme.test")).await.unwrap();
        tx.rollback().await.unwrap();
        let mut tx = app.db.pool().begin().await.unwrap();
        let id = outbox.queue(&mut tx, &message("kept@acme.test")).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(outbox.deliver_due().await.unwrap(), 1);
        assert_eq!(outbox.deliver(&id).await.unwrap(), Delivery::NotMine, "already sent");
        assert_eq!(eml_count(&dir), 1);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE to_addr = 'rolled@acme.test'")
            .fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(n, 0);
    }

    async fn two_workers_at_once_send_each_message_once(app: TestApp) {
        let dir = app.outbox.parent().unwrap().join("box");
        let (a, b) = (outbox_in(&app, &dir), outbox_in(&app, &dir));
        for i in 0..30 {
            a.queue(&mut app.db.pool().acquire().await.unwrap(), &message(&format!("u{i}@acme.test"))).await.unwrap();
        }
        let (sent_a, sent_b) = tokio::join!(a.deliver_due(), b.deliver_due());
        assert_eq!(sent_a.unwrap() + sent_b.unwrap(), 30);
        assert_eq!(eml_count(&dir), 30);
    }

    async fn a_reset_requested_while_mail_is_down_arrives_once_mail_is_back(app: TestApp) {
        app.seed_account("acme", &[Role::AdministratorWithBilling]).await;
        let email = format!("{}@acme.test", Role::AdministratorWithBilling.code());
        break_folder(&app.outbox);
        let c = TestApp::new_client();
        let res = app.call(&c, "account/request-reset", &[("email", email.as_str())]).await;
        assert_eq!(res.status(), 200, "the request succeeds: the message is queued");
        // The worker's pass while mail is down sends nothing and plans a retry.
        assert_eq!(app.services.ctx.outbox.deliver_due().await.unwrap(), 0);
        mend_folder(&app.outbox);
        assert!(app.outbox_messages().is_empty());
        app.clock.advance_minutes(RETRY_MINUTES[0]);
        assert_eq!(app.services.ctx.outbox.deliver_due().await.unwrap(), 1);
        let mail = app.outbox_messages().pop().expect("the reset email, late");
        let link = find_link(&mail, &format!("{}/reset-password/", app.address)).expect("its link");
        let token = link.rsplit('/').next().unwrap();
        let res = app
            .call(&c, "account/set-password", &[("kind", "Reset"), ("token", token), ("password", "a brand new long passphrase")])
            .await;
        assert_eq!(res.status(), 200, "the late link still works");
    }

    async fn in_a_batch_only_the_message_that_fails_waits_for_its_retry(app: TestApp) {
        let dir = app.outbox.parent().unwrap().join("box");
        let outbox = outbox_in(&app, &dir);
        // One batch, written in one go: a message that cannot be built sits between others.
        for to in ["a@acme.test", "b@acme.test", "not an address", "d@acme.test", "e@acme.test"] {
            outbox.queue(&mut app.db.pool().acquire().await.unwrap(), &message(to)).await.unwrap();
        }
        assert_eq!(outbox.deliver_due().await.unwrap(), 4);
        assert_eq!(eml_count(&dir), 4);
        for to in ["a@acme.test", "b@acme.test", "d@acme.test", "e@acme.test"] {
            let r = row(&app, to).await;
            assert!(r.get::<Option<i64>, _>("sent_at").is_some(), "{to} sent");
            assert_eq!(r.get::<Option<String>, _>("last_error"), None, "{to}");
        }
        let bad = row(&app, "not an address").await;
        assert_eq!(bad.get::<Option<i64>, _>("sent_at"), None);
        assert!(bad.get::<Option<String>, _>("last_error").unwrap().contains("invalid address"));
        assert_eq!(bad.get::<i64, _>("next_attempt_at"), app.clock_now() + RETRY_MINUTES[0] * 60_000);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .filter_map(|m| m.lines().find(|l| l.starts_with("To: ")).map(str::to_string))
            .collect();
        for to in ["a@acme.test", "b@acme.test", "d@acme.test", "e@acme.test"] {
            assert!(names.iter().any(|n| n.contains(to)), "{to} in {names:?}");
        }
    }
}
