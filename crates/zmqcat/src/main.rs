//! # zmqcat: `cat` for ZeroMQ sockets
//!
//! Pipes standard input to a ZeroMQ socket, or a socket to standard output, in the manner of
//! the Python tool `zmqc`. It is built on zmq-rs and speaks to any ZeroMQ peer (libzmq,
//! pyzmq, zmq-rs) over `tcp://` and `ipc://`.
//!
//! ```text
//! zmqcat [-0] [-n COUNT] [-r|-w] (-b|-c) SOCK_TYPE [-o NAME=VALUE ...] [-s PREFIX ...] ADDRESS...
//! zmqcat --curve-keypair
//!
//! zmqcat -b PULL tcp://127.0.0.1:5555                # print what is pushed to port 5555
//! echo hello | zmqcat -c PUSH tcp://127.0.0.1:5555   # push one message
//! zmqcat -c SUB -s weather tcp://host:5556           # print messages starting "weather"
//! echo ping | zmqcat -c REQ tcp://host:5557          # one request, print the reply
//! ```
//!
//! `zmqcat --help` explains every flag. In short: `-r` prints each frame received followed by
//! the separator (newline, or NUL with `-0`), flushing after every message; `-w` sends each
//! record of standard input as a one-frame message and, at the end of input, delivers what is
//! queued (for LINGER) before exiting; REQ and REP alternate on their own; `-n` stops after a
//! number of messages; `-s` subscribes (SUB), sends subscriptions (XSUB) or names groups
//! (DISH, RADIO); `-o` sets any option in [`sockopt::OPTIONS`] by libzmq's name.
//!
//! ## Security
//!
//! `-o PLAIN_SERVER=1` accepts any user name and password, and `-o CURVE_SERVER=1` any
//! client key: zmqcat starts a [`zmq_rs::Authenticator`] that lets everyone in (libzmq 4.3
//! refuses every PLAIN client when no ZAP handler runs). CURVE traffic is still encrypted.
//! Keys are 40 Z85 characters; `zmqcat --curve-keypair` prints a fresh pair as
//! `CURVE_PUBLICKEY=...` and `CURVE_SECRETKEY=...` lines, ready for `-o`. A CURVE server needs
//! only its secret key (the public key follows from it); a CURVE client needs the server's
//! public key as `CURVE_SERVERKEY` and makes itself a fresh pair unless given one.
//!
//! ```text
//! zmqcat --curve-keypair > server.key
//! zmqcat -b PULL -o CURVE_SERVER=1 -o "$(grep SECRET server.key)" tcp://*:5558
//! echo hush | zmqcat -c PUSH -o CURVE_SERVERKEY=<the server's public key> tcp://host:5558
//! ```
//!
//! ## Exit status
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | done: end of input, COUNT reached, or standard output closed by its reader |
//! | 1 | a socket or I/O error while running |
//! | 2 | bad usage: unknown flag, socket type or option, bad value, or a mode the type lacks |
//! | 3 | an ADDRESS could not be bound or connected |
//! | 4 | waited longer than RCVTIMEO or SNDTIMEO |
//! | 130, 143 | interrupted by SIGINT or SIGTERM: what was received is printed, what was not yet delivered is dropped |
//!
//! ## Layout
//!
//! [`cli`] parses the command line, [`kind`] knows the socket types, [`sockopt`] the
//! options, [`records`] splits and writes records, [`session`] runs the loops, [`signals`]
//! turns SIGINT/SIGTERM into a flag and [`exit`] the reasons to stop into statuses.

#![deny(unsafe_code)]

mod cli;
mod exit;
mod kind;
mod records;
mod session;
mod signals;
mod sockopt;

use std::process::ExitCode;

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("zmqcat: {message}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let config = match command {
        cli::Command::Help => {
            print!("{}", cli::help());
            return ExitCode::from(exit::SUCCESS);
        }
        cli::Command::Version => {
            println!("zmqcat {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::from(exit::SUCCESS);
        }
        cli::Command::CurveKeypair => {
            return match zmq_rs::curve_keypair() {
                Ok(pair) => {
                    println!("CURVE_PUBLICKEY={}", pair.public.to_z85());
                    println!("CURVE_SECRETKEY={}", &*pair.secret.to_z85());
                    ExitCode::from(exit::SUCCESS)
                }
                Err(e) => {
                    eprintln!("zmqcat: cannot make a CURVE key pair: {e}");
                    ExitCode::from(exit::RUNTIME)
                }
            };
        }
        cli::Command::Run(config) => config,
    };
    if let Err(e) = signals::install() {
        eprintln!("zmqcat: cannot handle SIGINT and SIGTERM: {e}");
        return ExitCode::from(exit::RUNTIME);
    }
    match session::run(&config) {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(failure) => {
            if let Some(message) = failure.message() {
                eprintln!("zmqcat: {message}");
            }
            ExitCode::from(failure.status())
        }
    }
}
