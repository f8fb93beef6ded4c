//! Uploads and downloads validated like Telegram: part sizes and counts, `upload.getFile`
//! offsets and limits.

use grammers_client::tl;

use crate::{harness, rpc_name};

fn save(file_id: i64, file_part: i32, bytes: Vec<u8>) -> tl::functions::upload::SaveFilePart {
    tl::functions::upload::SaveFilePart {
        file_id,
        file_part,
        bytes,
    }
}

fn get(
    location: tl::enums::InputFileLocation,
    offset: i64,
    limit: i32,
    precise: bool,
) -> tl::functions::upload::GetFile {
    tl::functions::upload::GetFile {
        precise,
        cdn_supported: false,
        location,
        offset,
        limit,
    }
}

#[tokio::test]
async fn bad_parts_are_refused_with_telegrams_errors() {
    let h = harness().await;
    assert_eq!(
        rpc_name(h.client.invoke(&save(1, -1, vec![0; 1024])).await),
        "FILE_PART_INVALID"
    );
    assert_eq!(
        rpc_name(h.client.invoke(&save(1, 0, Vec::new())).await),
        "FILE_PART_EMPTY"
    );
    assert_eq!(
        rpc_name(h.client.invoke(&save(1, 0, vec![0; 512 * 1024 + 4])).await),
        "FILE_PART_TOO_BIG"
    );
    let big = |part, total| tl::functions::upload::SaveBigFilePart {
        file_id: 2,
        file_part: part,
        file_total_parts: total,
        bytes: vec![1; 1024],
    };
    assert!(h.client.invoke(&big(0, 3)).await.unwrap());
    assert_eq!(
        rpc_name(h.client.invoke(&big(1, 4)).await),
        "FILE_PARTS_INVALID"
    );
}

#[tokio::test]
async fn get_file_checks_offsets_and_limits_and_serves_exact_ranges() {
    let h = harness().await;
    // A 1.5 MiB document from a user, so ranges cross a MiB boundary.
    let data: Vec<u8> = (0..1_572_864u32).map(|i| (i % 251) as u8).collect();
    let send = testdc::SendMedia {
        from: None,
        chat_id: testdc::Fixture::DEFAULT.alice,
        kind: testdc::MediaKind::Document,
        caption: String::new(),
        reply_to_message_id: None,
        meta: testdc::MediaMeta {
            file_name: Some("blob.bin".into()),
            ..Default::default()
        },
    };
    h.dc.send_media(send, data.clone()).unwrap();
    let (id, access_hash, file_reference) = h.dc.with_world(|w| {
        let f = w.media.files.values().next().unwrap();
        (f.id, f.access_hash, f.file_reference.clone())
    });
    let location = || {
        tl::enums::InputFileLocation::InputDocumentFileLocation(
            tl::types::InputDocumentFileLocation {
                id,
                access_hash,
                file_reference: file_reference.clone(),
                thumb_size: String::new(),
            },
        )
    };
    let read = |r: tl::enums::upload::File| match r {
        tl::enums::upload::File::File(f) => f.bytes,
        other => panic!("{other:?}"),
    };
    let first = read(
        h.client
            .invoke(&get(location(), 0, 512 * 1024, false))
            .await
            .unwrap(),
    );
    assert_eq!(first, data[..512 * 1024]);
    let tail = read(
        h.client
            .invoke(&get(location(), 1024 * 1024, 1024 * 1024, false))
            .await
            .unwrap(),
    );
    assert_eq!(tail, data[1024 * 1024..], "short read at the end");
    assert_eq!(
        rpc_name(h.client.invoke(&get(location(), 0, 1000, false)).await),
        "LIMIT_INVALID"
    );
    assert_eq!(
        rpc_name(h.client.invoke(&get(location(), 0, 3 * 4096, false)).await),
        "LIMIT_INVALID",
        "must divide 1 MiB"
    );
    assert_eq!(
        rpc_name(h.client.invoke(&get(location(), 100, 4096, false)).await),
        "OFFSET_INVALID"
    );
    assert_eq!(
        rpc_name(
            h.client
                .invoke(&get(location(), 1024 * 1024 - 4096, 8192, false))
                .await
        ),
        "OFFSET_INVALID",
        "crosses a MiB"
    );
    let precise = read(
        h.client
            .invoke(&get(location(), 1024, 3 * 1024, true))
            .await
            .unwrap(),
    );
    assert_eq!(precise, data[1024..4096]);
    h.dc.expire_file_references();
    assert_eq!(
        rpc_name(h.client.invoke(&get(location(), 0, 4096, false)).await),
        "FILE_REFERENCE_EXPIRED"
    );
}
