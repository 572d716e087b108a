"""SQS: the local queues a Callback step sends to (``showcase.queues``), through the API.

CreateQueue, GetQueueUrl, ListQueues, GetQueueAttributes, SendMessage, ReceiveMessage (``WaitTimeSeconds``: long
polling, up to 20 s), DeleteMessage and ChangeMessageVisibility. Queue URLs are SQS's own
(``https://sqs.<region>.amazonaws.com/<account>/<name>``); a request may name a queue by any URL ending in its
name. Errors carry SQS's JSON codes (``QueueDoesNotExist``, ...); the wire layer adds the query protocol's code in
``x-amzn-query-error``, as SQS does for its query-compatible clients.
"""

from __future__ import annotations

import hashlib
from typing import Any

from showcase.api.errors import ApiError
from showcase.api.state import Call, Handler
from showcase.errors import ShowcaseError
from showcase.queues import Queues, name_of, queue_url

QUERY_CODES = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "ReceiptHandleIsInvalid": "ReceiptHandleIsInvalid",
    "InvalidAddress": "InvalidAddress",
}
"""The query protocol's code for each JSON code SQS answers (sent in ``x-amzn-query-error``)."""


def _queues(call: Call) -> Queues:
    return Queues(call.state.settings.home)


def _url(call: Call, name: str) -> str:
    return queue_url(call.state.settings.region, call.state.settings.account, name)


def _name(call: Call) -> str:
    try:
        name = name_of(call.params["QueueUrl"])
    except ShowcaseError as exc:
        raise ApiError("InvalidAddress", str(exc)) from None
    if not _queues(call).exists(name):
        raise ApiError("QueueDoesNotExist", "The specified queue does not exist.")
    return name


def create_queue(call: Call) -> dict[str, Any]:
    name = call.params["QueueName"]
    try:
        _queues(call).create(name, call.params.get("Attributes"))
    except ShowcaseError as exc:
        raise ApiError("InvalidParameterValue", str(exc)) from None
    return {"QueueUrl": _url(call, name)}


def get_queue_url(call: Call) -> dict[str, Any]:
    name = call.params["QueueName"]
    try:
        found = _queues(call).exists(name)
    except ShowcaseError:
        found = False
    if not found:
        raise ApiError("QueueDoesNotExist", "The specified queue does not exist.")
    return {"QueueUrl": _url(call, name)}


def list_queues(call: Call) -> dict[str, Any]:
    names = _queues(call).names(call.params.get("QueueNamePrefix") or "")
    return {"QueueUrls": [_url(call, name) for name in names]} if names else {}


def get_queue_attributes(call: Call) -> dict[str, Any]:
    attributes = _queues(call).attributes(_name(call))
    wanted = call.params.get("AttributeNames") or []
    if "All" not in wanted:
        attributes = {key: value for key, value in attributes.items() if key in wanted}
    return {"Attributes": attributes}


def send_message(call: Call) -> dict[str, Any]:
    return _queues(call).send(_name(call), call.params["MessageBody"])


def receive_message(call: Call) -> dict[str, Any]:
    params = call.params
    taken = _queues(call).receive(
        _name(call),
        max_messages=int(params.get("MaxNumberOfMessages") or 1),
        visibility_timeout=params.get("VisibilityTimeout"),
        wait_seconds=float(params.get("WaitTimeSeconds") or 0),
    )
    messages = [
        {
            "MessageId": message["MessageId"],
            "ReceiptHandle": message["ReceiptHandle"],
            "MD5OfBody": hashlib.md5(message["Body"].encode(), usedforsecurity=False).hexdigest(),
            "Body": message["Body"],
            "Attributes": {
                "SentTimestamp": message["SentTimestamp"],
                "ApproximateReceiveCount": str(message["ReceiveCount"]),
            },
        }
        for message in taken
    ]
    return {"Messages": messages} if messages else {}


def delete_message(call: Call) -> dict[str, Any]:
    _queues(call).delete(_name(call), call.params["ReceiptHandle"])
    return {}


def change_message_visibility(call: Call) -> dict[str, Any]:
    try:
        _queues(call).change_visibility(
            _name(call), call.params["ReceiptHandle"], int(call.params["VisibilityTimeout"])
        )
    except ShowcaseError as exc:
        raise ApiError("ReceiptHandleIsInvalid", str(exc)) from None
    return {}


OPERATIONS: dict[str, Handler] = {
    "CreateQueue": create_queue,
    "GetQueueUrl": get_queue_url,
    "ListQueues": list_queues,
    "GetQueueAttributes": get_queue_attributes,
    "SendMessage": send_message,
    "ReceiveMessage": receive_message,
    "DeleteMessage": delete_message,
    "ChangeMessageVisibility": change_message_visibility,
}
