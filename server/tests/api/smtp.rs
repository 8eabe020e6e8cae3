//! The SMTP transport delivers to a real SMTP listener on loopback, started by the test.

use tally_services::platform::mail::{emails, Mailer};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

/// Accepts one SMTP session and returns the DATA it received.
async fn one_message_smtp_server(listener: TcpListener) -> String {
    let (socket, _) = listener.accept().await.unwrap();
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write
        .write_all(b"220 test.local ESMTP ready\r\n")
        .await
        .unwrap();
    let mut data = String::new();
    let mut in_data = false;
    while let Some(line) = lines.next_line().await.unwrap() {
        if in_data {
            if line == "." {
                // The message is whole; the client may keep the connection pooled.
                write.write_all(b"250 2.0.0 queued\r\n").await.unwrap();
                return data;
            } else {
                data.push_str(&line);
                data.push('\n');
            }
            continue;
        }
        let upper = line.to_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-test.local\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("DATA") {
            in_data = true;
            b"354 end with <CRLF>.<CRLF>\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await.unwrap();
            break;
        } else {
            b"250 OK\r\n"
        };
        write.write_all(reply).await.unwrap();
    }
    data
}

#[tokio::test]
async fn the_smtp_transport_delivers_to_a_real_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(one_message_smtp_server(listener));
    let mailer = Mailer::smtp(
        &format!("smtp://127.0.0.1:{port}"),
        "Tally <tally@acme.test>",
    )
    .unwrap();
    let mail = emails::password_reset("ann@acme.test", "http://127.0.0.1/reset-password/abc", 30);
    mailer.send(&mail).await.unwrap();
    let received = tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
    assert!(received.contains("To: ann@acme.test"), "{received}");
    assert!(received.contains("Subject: Reset your Tally password"));
    assert!(received.contains("text/plain") && received.contains("text/html"));
    assert!(received.contains("http://127.0.0.1/reset-password/abc"));
}
