//! The one-command demo: testdc, the receiver, the sender and a tiny webhook consumer, all on
//! loopback, playing a scripted conversation with media. No Telegram account, no Docker:
//!
//! ```sh
//! cargo run -p e2e --example demo            # plays the script on free ports and exits
//! cargo run -p e2e --example demo -- --serve # then keeps serving on fixed ports for curl
//! ```
//!
//! The code is `e2e::demo` (the README test starts the same thing); this file only parses the
//! flag and prints.

use clap::Parser;
use e2e::demo::{Demo, Ports, script};

/// Plays a scripted conversation through testdc, the receiver, the sender and a consumer.
#[derive(Parser)]
struct Args {
    /// After the script, keep everything running on fixed ports (sender 127.0.0.1:8001,
    /// /media 8181, testdc 9444 and its control API 9445, consumer 8002) until Ctrl-C.
    #[arg(long)]
    serve: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ports = if args.serve { Ports::FIXED } else { Ports::ANY };
    let mut demo = Demo::start(ports).await?;
    println!("{}\n", demo.describe());
    script::play(&demo).await?;
    if args.serve {
        demo.watch_outgoing();
        println!("\nServing; Ctrl-C to stop.\n{}", demo.try_this());
        tokio::signal::ctrl_c().await?;
    }
    demo.shutdown().await
}
