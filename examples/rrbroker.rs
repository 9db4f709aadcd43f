//! # rrbroker: the zguide's request-reply broker, with `zmq_rs::proxy`
//!
//! A ROUTER frontend for clients (`rrclient`, REQ) and a DEALER backend for workers
//! (`rrworker`, REP), joined by the built-in proxy: requests are spread fairly over the
//! workers, and each reply finds its way back to its client through the envelope of routing
//! ids the ROUTER adds.
//!
//! ```text
//! cargo run --release --example rrbroker                           # tcp://*:5559 and tcp://*:5560
//! cargo run --release --example rrbroker -- tcp://*:5559 tcp://*:5560
//! ```

use zmq_rs::{Context, Socket};

/// The broker's two sockets, bound.
#[derive(Debug)]
pub struct Broker {
    /// Clients connect here (ROUTER).
    pub frontend: Socket,
    /// Workers connect here (DEALER).
    pub backend: Socket,
}

/// Binds the frontend and the backend.
pub fn bind(ctx: &Context, frontend: &str, backend: &str) -> zmq_rs::Result<Broker> {
    let front = ctx.socket(zmq_rs::ROUTER)?;
    front.bind(frontend)?;
    let back = ctx.socket(zmq_rs::DEALER)?;
    back.bind(backend)?;
    Ok(Broker {
        frontend: front,
        backend: back,
    })
}

/// Relays until an error. With a `control` socket, relays until it receives `TERMINATE`
/// (`zmq_rs::proxy_steerable`), then returns `Ok`.
pub fn run(broker: &Broker, control: Option<&Socket>) -> zmq_rs::Result<()> {
    match control {
        Some(control) => zmq_rs::proxy_steerable(&broker.frontend, &broker.backend, None, control),
        None => zmq_rs::proxy(&broker.frontend, &broker.backend, None),
    }
}

fn main() -> zmq_rs::Result<()> {
    let mut args = std::env::args().skip(1);
    let frontend = args.next().unwrap_or_else(|| "tcp://*:5559".into());
    let backend = args.next().unwrap_or_else(|| "tcp://*:5560".into());
    let ctx = Context::new();
    let broker = bind(&ctx, &frontend, &backend)?;
    println!(
        "rrbroker: clients on {}, workers on {}",
        broker.frontend.get_last_endpoint()?,
        broker.backend.get_last_endpoint()?
    );
    run(&broker, None)
}
