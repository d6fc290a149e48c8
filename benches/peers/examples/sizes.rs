fn main() {
    use gen_api::{enums, types};
    use std::mem::size_of;
    println!("types::Message {}", size_of::<types::Message>());
    println!("enums::Message {}", size_of::<enums::Message>());
    println!("enums::MessageMedia {}", size_of::<enums::MessageMedia>());
    println!("enums::Peer {}", size_of::<enums::Peer>());
    println!("enums::MessageReplyHeader {}", size_of::<enums::MessageReplyHeader>());
    println!("enums::User {}", size_of::<enums::User>());
    println!("enums::Chat {}", size_of::<enums::Chat>());
    println!("enums::MessageEntity {}", size_of::<enums::MessageEntity>());
    println!("enums::Update {}", size_of::<enums::Update>());
    println!("grammers enums::Message {}", size_of::<grammers_tl_types::enums::Message>());
    println!("grammers types::Message {}", size_of::<grammers_tl_types::types::Message>());
}
