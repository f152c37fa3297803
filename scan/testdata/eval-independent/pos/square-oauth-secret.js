const squareAppSecret = 'sq0csp-l0BXPtOIirwraki-FiyQyI-en-ALvZEJhhwJ7h8Emn8';
const squareAppSecret = 'sq0csp-5VOwaB24K8ZLQfn2FUfug_XWbn2vWgKfJcLYTeY8agm';
const squareAppSecret = 'sq0csp-3tQTXdBAPCRo6gs5kL_xX1hGOXIs60_WL9KAenusFme';
const squareAppSecret = 'sq0csp-HW2yqzTl9EQAYddqAiaXROn_c64UaYClKsEcxyyZNt-';
const squareAppSecret = 'sq0csp-5K9ZjL49aAYB_v8GZ58qcZ4QlwAKYuhmBm6LBlmCYzo';
const squareAppSecret = 'sq0csp-spkpaRauZI7ozppBmpusTl0sK0sDpjKa0iJtbPFpmpR';
