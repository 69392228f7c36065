//! The agent's side of the wire (`kompira_tray_ipc::wire`): accepts windows, answers their
//! calls, streams events to the ones that subscribed.

use std::sync::Arc;

use tokio::io::BufReader;
use tokio::sync::broadcast::error::RecvError;

use kompira_tray_ipc::wire::{self as ipc, Listener, Reply, Request, SUBSCRIBE};
use kompira_tray_ipc::{Call, Event};

use crate::agent::Agent;
use crate::shell::Shell;

/// Serves windows until the agent quits.
pub async fn serve(agent: Arc<Agent>, listener: Listener) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(stream) => {
                    let agent = agent.clone();
                    tokio::spawn(async move { connection(agent, stream).await });
                }
                Err(e) => {
                    tracing::warn!("a window could not connect: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            () = agent.quitting() => return,
        }
    }
}

async fn connection(agent: Arc<Agent>, stream: ipc::Stream) {
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::new(read);
    let request: Request = match ipc::read_line(&mut reader).await {
        Ok(Some(request)) => request,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!("a window sent {e}");
            let _ = ipc::write_line(&mut write, &Reply::Err(e.into())).await;
            return;
        }
    };
    if request.call == SUBSCRIBE {
        return stream_events(&agent, reader, write).await;
    }
    let shell: Arc<dyn Shell> = agent;
    let answered = match Call::from_request(&request.call, request.args) {
        Ok(call) => crate::calls::dispatch(&shell, call).await,
        Err(sentence) => Err(sentence.into()),
    };
    let reply = match answered {
        Ok(value) => Reply::Ok(value),
        Err(value) => Reply::Err(value),
    };
    if let Err(e) = ipc::write_line(&mut write, &reply).await {
        tracing::debug!("the window left before the answer to {}: {e}", request.call);
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
