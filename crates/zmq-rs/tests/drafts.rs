//! The draft socket types through the facade, over tcp and inproc (RFC 41, 48, 49, 52).

use zmq_rs::{Context, Message, Socket, SocketType};

fn pair(
    ctx: &Context,
    binder: SocketType,
    connecter: SocketType,
    endpoint: &str,
) -> (Socket, Socket) {
    let b = ctx.socket(binder).expect("binder");
    b.set_rcvtimeo(5000).expect("rcvtimeo");
    b.bind(endpoint).expect("bind");
    let ep = b.get_last_endpoint().expect("endpoint");
    let c = ctx.socket(connecter).expect("connecter");
    c.set_rcvtimeo(5000).expect("rcvtimeo");
    c.connect(&ep).expect("connect");
    (b, c)
}

#[test]
fn server_replies_to_a_client_by_routing_id_rfc41() {
    for endpoint in ["tcp://127.0.0.1:*", "inproc://drafts-client-server"] {
        let ctx = Context::new();
        let (server, client) = pair(&ctx, zmq_rs::SERVER, zmq_rs::CLIENT, endpoint);
        client.send("request", 0).expect("client send");
        let request = server.recv_msg(0).expect("server recv");
        assert_eq!(&request[..], b"request");
        let id = request.routing_id();
        assert_ne!(id, 0, "SERVER stamps the client's routing id");
        let mut reply = Message::from("reply");
        reply.set_routing_id(id);
        server.send(reply, 0).expect("server send");
        assert_eq!(client.recv_bytes(0).expect("client recv"), b"reply");
        // RFC 41: single-frame messages only.
        assert!(client.send("a", zmq_rs::SNDMORE).is_err() || client.send("b", 0).is_err());
        let mut unknown = Message::from("lost");
        unknown.set_routing_id(id.wrapping_add(12345));
        assert!(matches!(
            server.send(unknown, 0),
            Err(zmq_rs::Error::HostUnreachable)
        ));
    }
}

#[test]
fn dish_receives_only_the_groups_it_joined_rfc48() {
    for endpoint in ["tcp://127.0.0.1:*", "inproc://drafts-radio-dish"] {
        let ctx = Context::new();
        let (radio, dish) = pair(&ctx, zmq_rs::RADIO, zmq_rs::DISH, endpoint);
        dish.join("weather").expect("join");
        dish.set_rcvtimeo(50).expect("rcvtimeo");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let mut other = Message::from("ignored");
            other.set_group("sports");
            radio.send(other, 0).expect("send other");
            let mut news = Message::from("sunny");
            news.set_group("weather");
            radio.send(news, 0).expect("send");
            match dish.recv_msg(0) {
                Ok(msg) => {
                    assert_eq!(&msg[..], b"sunny");
                    assert_eq!(msg.group(), Some(&b"weather"[..]));
                    break;
                }
                Err(zmq_rs::Error::WouldBlock) => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "{endpoint}: JOIN never arrived"
                    );
                }
                Err(e) => panic!("{e}"),
            }
        }
        // Received into a message (`zmq_msg_recv`), the group comes with the frame.
        let mut news = Message::from("rainy");
        news.set_group("weather");
        radio.send(news, 0).expect("send");
        dish.set_rcvtimeo(5000).expect("rcvtimeo");
        let mut msg = Message::from("old");
        msg.set_group("old group");
        assert_eq!(dish.recv_into(&mut msg, 0).expect("recv_into"), 5);
        assert_eq!(&msg[..], b"rainy");
        assert_eq!(msg.group(), Some(&b"weather"[..]));
    }
}

#[test]
fn scatter_spreads_and_gather_collects_rfc49() {
    let ctx = Context::new();
    let gather = ctx.socket(zmq_rs::GATHER).expect("gather");
    gather.set_rcvtimeo(5000).expect("rcvtimeo");
    gather.bind("tcp://127.0.0.1:*").expect("bind");
    let ep = gather.get_last_endpoint().expect("endpoint");
    let scatter = ctx.socket(zmq_rs::SCATTER).expect("scatter");
    scatter.connect(&ep).expect("connect");
    for i in 0..10u8 {
        scatter.send(vec![i], 0).expect("send");
    }
    for i in 0..10u8 {
        assert_eq!(gather.recv_bytes(0).expect("recv"), vec![i]);
    }
}

#[test]
fn channel_is_an_exclusive_pair_rfc52() {
    let ctx = Context::new();
    let (a, b) = pair(&ctx, zmq_rs::CHANNEL, zmq_rs::CHANNEL, "tcp://127.0.0.1:*");
    b.send("ping", 0).expect("send");
    assert_eq!(a.recv_bytes(0).expect("recv"), b"ping");
    a.send("pong", 0).expect("send");
    assert_eq!(b.recv_bytes(0).expect("recv"), b"pong");
}
