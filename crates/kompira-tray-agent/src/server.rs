//! The agent's side of the wire (`kompira_tray_ipc::wire`): accepts windows, answers their
//! calls, streams events to the ones that subscribed. The listener lets in only this user's
//! processes; here the rest of the limits hold: at most `MAX_CONNECTIONS` at once, one call of
//! at most `MAX_REQUEST_LINE` within `FIRST_LINE_TIMEOUT` per connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::Semaphore;

use kompira_tray_ipc::wire::{self as ipc, Listener, Reply, Request, SUBSCRIBE};
use kompira_tray_ipc::{Call, Event};

use crate::agent::Agent;
use crate::shell::Shell;

/// Serves windows until the agent quits.
pub async fn serve(agent: Arc<Agent>, listener: Listener) {
    let slots = Arc::new(Semaphore::new(ipc::MAX_CONNECTIONS));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(stream) => match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        let agent = agent.clone();
                        tokio::spawn(async move {
                            connection(agent, stream).await;
                            drop(slot);
                        });
                    }
                    Err(_) => {
                        tokio::spawn(turn_away(stream));
                    }
                },
                Err(e) => {
                    tracing::warn!("a window could not connect: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            () = agent.quitting() => return,
        }
    }
}

/// Answers a connection past [`ipc::MAX_CONNECTIONS`] that the agent is busy, and closes it.
async fn turn_away(mut stream: ipc::Stream) {
    let busy = format!(
        "the Kompira Tray agent is busy: {} connections are open, the most it serves at once; try again later",
        ipc::MAX_CONNECTIONS
    );
    tracing::warn!("refused a connection: {busy}");
    // A peer that does not read must not hold this task: the answer is short, so a second is plenty.
    let _ = tokio::time::timeout(Duration::from_secs(1), ipc::write_line(&mut stream, &Reply::Err(busy.into()))).await;
}

async fn connection(agent: Arc<Agent>, stream: ipc::Stream) {
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::new(read);
    let request: Request = match ipc::read_request(&mut reader).await {
        Ok(Some(request)) => request,
        Ok(None) => return,
        Err(refusal) => {
            tracing::warn!("closed a window's connection: {refusal}");
            let _ =
                tokio::time::timeout(Duration::from_secs(1), ipc::write_line(&mut write, &Reply::Err(refusal.into())))
                    .await;
            return;
        }
    };
    if request.call == SUBSCRIBE {
        return stream_events(&agent, reader, write).await;
    }
    let shell: Arc<dyn Shell> = agent;
    let mut quits = false;
    let answered = match Call::from_request(&request.call, request.args) {
        Ok(call) => {
            quits = call == Call::Quit;
            crate::calls::dispatch(&shell, call).await
        }
        Err(sentence) => Err(sentence.into()),
    };
    let reply = match answered {
        Ok(value) => Reply::Ok(value),
        Err(value) => Reply::Err(value),
    };
    if let Err(e) = ipc::write_line(&mut write, &reply).await {
        tracing::debug!("the window left before the answer to {}: {e}", request.call);
    }
    if quits {
        tracing::info!("quit asked over the socket");
        shell.quit();
    }
}

/// Sends events until the window goes away (its end of the connection closes).
async fn stream_events<R, W>(agent: &Agent, mut reader: BufReader<R>, mut write: W)
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut events = agent.subscribe();
    // The window sends nothing more; a read that ends means it is gone.
    let mut closed = Box::pin(async move {
        let mut discard = [0u8; 512];
        while let Ok(1..) = tokio::io::AsyncReadExt::read(&mut reader, &mut discard).await {}
    });
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = &mut closed => return,
        };
        match event {
            Ok(event) => {
                if ipc::write_line(&mut write, &event).await.is_err() {
                    return;
                }
            }
            Err(RecvError::Lagged(missed)) => {
                // Missed changes: have the window read everything again.
                tracing::warn!("a window fell {missed} events behind");
                for refresh in Event::RELOAD {
                    if ipc::write_line(&mut write, &refresh).await.is_err() {
                        return;
                    }
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}
